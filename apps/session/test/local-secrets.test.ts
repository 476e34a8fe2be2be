// A secret the session holds, pasted where a provider's key belongs (--provider, --swarm-key, or
// their environment variables), is refused before any network use and never printed back: the NWC
// connection secret (from --nwc, NWC_URI or the devnet's customer account) and the customer's own
// private key, in every encoding people copy (hex in either case, nsec, and the npub that the same
// 32 bytes make, which decodes back to the key).
//
// The judge is a recording relay: every frame any client sends it is kept, and none may carry the
// secret in any form. The DHT bootstrap is a dead loopback port, so a bin that wrongly goes on
// dialling stays on this machine. Nothing here needs the devnet: the NWC URIs are made up and point
// at the recording relay, which is what the wallet client would talk to.

import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nip19 } from 'nostr-tools'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { WebSocketServer } from 'ws'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { killAll, spawnBin, type Proc } from '@2020117/testkit'

let relay: WebSocketServer
let relayUrl: string
/** Every frame clients sent to the relay, as text. */
const received: string[] = []
let dir: string

beforeAll(async () => {
  relay = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => relay.once('listening', resolve))
  relayUrl = `ws://127.0.0.1:${(relay.address() as AddressInfo).port}`
  relay.on('connection', (ws) => {
    ws.on('error', () => {})
    ws.on('message', (data) => {
      const text = data.toString()
      received.push(text)
      // Answer subscriptions with "nothing stored", so a bin that asks gets its answer at once.
      try {
        const msg = JSON.parse(text) as unknown[]
        if (msg[0] === 'REQ') ws.send(JSON.stringify(['EOSE', msg[1]]))
      } catch {}
    })
  })
  dir = await mkdtemp(join(tmpdir(), '2020117-local-secrets-'))
})

afterEach(async () => {
  await killAll()
})

afterAll(async () => {
  await killAll()
  await new Promise((resolve) => relay?.close(resolve))
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The forms in which a 32-byte secret could travel or be printed. */
function forms(hex: string): Array<[string, string]> {
  const bytes = new Uint8Array(Buffer.from(hex, 'hex'))
  return [
    ['hex', hex],
    ['HEX', hex.toUpperCase()],
    ['nsec', nip19.nsecEncode(bytes)],
    ['npub', nip19.npubEncode(hex)],
    ['base64', Buffer.from(bytes).toString('base64')],
    // The session prints swarm keys shortened to 16 hex digits.
    ['hex prefix', hex.slice(0, 16)]
  ]
}

function leaks(hex: string, texts: Array<[string, string]>): string[] {
  const out: string[] = []
  for (const [where, text] of texts)
    for (const [form, value] of forms(hex))
      if (text.toLowerCase().includes(value.toLowerCase())) out.push(`${form} in ${where}`)
  return out
}

function nwcUriWith(secret: string): string {
  const walletPubkey = getPublicKey(generateSecretKey())
  return `nostr+walletconnect://${walletPubkey}?relay=${encodeURIComponent(relayUrl)}&secret=${secret}`
}

const NET = ['--bootstrap=127.0.0.1:1', '--discovery-timeout=1', '--network=regtest']

function session(keysFile: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return spawnBin(
    'session',
    [
      ...NET,
      `--relays=${relayUrl}`,
      `--keys-file=${keysFile}`,
      '--agent=customer',
      '--budget=10',
      '--port=0',
      '--yes',
      '--no-repl',
      '--log-level=trace',
      ...args
    ],
    {
      cwd: dir,
      env: { DEBUG_2020117: '1', ...env }
    }
  )
}

/** A keys file with a customer entry whose private key the test knows. */
async function keysFileWith(name: string): Promise<{ path: string; privkey: string }> {
  const sk = generateSecretKey()
  const privkey = Buffer.from(sk).toString('hex')
  const path = join(dir, name)
  await writeFile(path, JSON.stringify({ customer: { privkey, pubkey: getPublicKey(sk) } }) + '\n', { mode: 0o600 })
  return { path, privkey }
}

async function expectRefused(p: Proc, secret: string, what: RegExp): Promise<void> {
  const code = await p.exited
  const seen = received.splice(0)
  expect(
    leaks(
      secret,
      seen.map((f, i) => [`relay frame ${i}`, f])
    ),
    'the secret reached the relay'
  ).toEqual([])
  expect(
    leaks(secret, [
      ['stdout', p.stdout()],
      ['stderr', p.stderr()]
    ]),
    'the secret was printed'
  ).toEqual([])
  expect(p.stderr(), 'the refusal says what was pasted').toMatch(what)
  expect(code).toBe(2)
  // Refused before any network use: the relay heard nothing at all from this run.
  expect(seen, 'the bin talked to the relay before refusing').toEqual([])
}

test('the NWC secret as --provider, in hex (either case), as npub and as nsec, is refused before any network use', async () => {
  const keys = await keysFileWith('keys-nwc-provider')
  const secret = randomBytes(32).toString('hex')
  const nwc = `--nwc=${nwcUriWith(secret)}`
  for (const given of [
    nip19.npubEncode(secret),
    secret,
    secret.toUpperCase(),
    nip19.nsecEncode(new Uint8Array(Buffer.from(secret, 'hex')))
  ]) {
    await expectRefused(
      session(keys.path, [nwc, `--provider=${given}`]),
      secret,
      /error SECRET_GIVEN: --provider is your wallet's connection secret/
    )
  }
}, 60_000)

test('the NWC secret from NWC_URI as --swarm-key, or as SESSION_PROVIDER, is refused and not printed', async () => {
  const keys = await keysFileWith('keys-nwc-swarm')
  const secret = randomBytes(32).toString('hex')
  const env = { NWC_URI: nwcUriWith(secret) }
  await expectRefused(
    session(keys.path, [`--swarm-key=${secret}`], env),
    secret,
    /error SECRET_GIVEN: --swarm-key is your wallet's connection secret/
  )
  await expectRefused(
    session(keys.path, [], { ...env, SESSION_PROVIDER: nip19.npubEncode(secret) }),
    secret,
    /error SECRET_GIVEN: --provider is your wallet's connection secret/
  )
}, 60_000)

test("the devnet customer's NWC secret as --provider is refused (the URI comes from the devnet state file)", async () => {
  const keys = await keysFileWith('keys-nwc-devnet')
  const secret = randomBytes(32).toString('hex')
  const devnet = await mkdtemp(join(dir, 'devnet-'))
  const state = {
    version: 2,
    pid: process.pid,
    started_at: new Date().toISOString(),
    network: 'regtest',
    bootstrap: [{ host: '127.0.0.1', port: 1 }],
    relays: [relayUrl],
    webui: null,
    blossom: null,
    control: null,
    accounts: { customer: { nwc_uri: nwcUriWith(secret) } }
  }
  await writeFile(join(devnet, 'devnet.json'), JSON.stringify(state), { mode: 0o600 })
  const p = spawnBin(
    'session',
    [
      `--devnet=${devnet}`,
      `--keys-file=${keys.path}`,
      '--agent=customer',
      '--budget=10',
      '--port=0',
      '--yes',
      '--no-repl',
      `--provider=${nip19.npubEncode(secret)}`
    ],
    { cwd: dir }
  )
  await expectRefused(p, secret, /error SECRET_GIVEN: --provider is your wallet's connection secret/)
}, 60_000)

test('your own private key as --provider or --swarm-key, as npub, nsec or hex, is refused before any network use', async () => {
  const keys = await keysFileWith('keys-own')
  const own = keys.privkey
  const cases: Array<[string, string]> = [
    ['provider', nip19.npubEncode(own)],
    ['provider', own.toUpperCase()],
    ['provider', nip19.nsecEncode(new Uint8Array(Buffer.from(own, 'hex')))],
    ['swarm-key', own],
    ['swarm-key', own.toUpperCase()]
  ]
  for (const [flag, given] of cases) {
    await expectRefused(
      session(keys.path, [`--${flag}=${given}`]),
      own,
      new RegExp(`error PRIVATE_KEY_GIVEN: --${flag} is your own private key`)
    )
  }
  // The keys file itself was left as it was.
  expect(JSON.parse(await readFile(keys.path, 'utf8')).customer.privkey).toBe(own)
}, 60_000)
