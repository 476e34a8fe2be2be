// No secret ever reaches the output of the real bins, at the highest verbosity (--log-level=trace,
// DEBUG_2020117=1), on stdout and stderr alike: full paid sessions with the NWC URI given by flag,
// by environment variable and by keys file; the tunnel; the piped REPL; the --json summary; the
// provider's JSON lines; --list --json; --help; an internal error's stack trace; and the mistakes
// people make (a wallet secret the wallet does not know, an nsec or a hex private key passed as
// --provider, a URI pasted without its flag or under a mistyped one).
//
// The secrets are known to the test: the NWC connection secrets of wallet accounts made for each
// path (so a leak names the path it came through), the privkeys of the keys files, and the random
// keys used in the mistakes. Each is searched for as lower- and upper-case hex, nsec, npub (the
// same 32 bytes under the public-key prefix decode back to the secret), base64 and a decimal byte
// list (what JSON.stringify makes of a Buffer). The devnet runs in this process and is not
// searched: it prints NWC URIs by design. Failures name the secret by label and show the line with
// every secret masked as <SECRET>; no assertion message carries a secret.

import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nip19 } from 'nostr-tools'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { killAll, spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'

const network = await startTestNetwork({ webuiStepDelayMs: 1, teardown: afterAll })
let dir: string

/** label -> 32-byte secret as lower-case hex */
const secrets = new Map<string, string>()
/** Every bin run so far, with what it printed. */
const runs: Array<{ label: string; proc: Proc }> = []
/** Keys files written by the bins or by the test: their text must not be printed either. */
const keysFiles: string[] = []

const TRACE = ['--log-level=trace']
const DEBUG_ENV = { DEBUG_2020117: '1' }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), '2020117-secrets-'))
})

afterEach(async () => {
  await killAll()
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

// -- secrets and where they may show up -------------------------------------------------------------

function addSecret(label: string, hex: string): void {
  expect(/^[0-9a-f]{64}$/.test(hex), `${label} is not 64 hex digits`).toBe(true)
  secrets.set(label, hex)
}

function nwcSecretOf(uri: string): string {
  const secret = new URL(uri.replace(/^nostr\+walletconnect:\/\//, 'http://')).searchParams.get('secret')
  if (!secret) throw new Error('an NWC URI without a secret')
  return secret.toLowerCase()
}

/** The forms in which a 32-byte secret could be printed. */
function forms(hex: string): Array<[string, string]> {
  const bytes = Buffer.from(hex, 'hex')
  return [
    ['hex', hex],
    ['HEX', hex.toUpperCase()],
    ['nsec', nip19.nsecEncode(new Uint8Array(bytes))],
    // The same 32 bytes as an npub decode back to the secret just as well.
    ['npub', nip19.npubEncode(hex)],
    ['base64', bytes.toString('base64')],
    ['byte list', [...bytes].join(',')]
  ]
}

interface Leak {
  run: string
  stream: string
  line: number
  secret: string
  masked: string
}

function findLeaks(only?: Array<{ label: string; proc: Proc }>): Leak[] {
  const leaks: Leak[] = []
  const needles: Array<[string, string]> = []
  for (const [label, hex] of secrets)
    for (const [form, value] of forms(hex)) needles.push([`${label} (${form})`, value])
  for (const { label, proc } of only ?? runs) {
    for (const [stream, text] of [
      ['stdout', proc.stdout()],
      ['stderr', proc.stderr()]
    ] as const) {
      const lines = text.split('\n')
      lines.forEach((line, i) => {
        for (const [name, value] of needles) {
          if (line.includes(value))
            leaks.push({ run: label, stream, line: i + 1, secret: name, masked: mask(line).slice(0, 400) })
        }
      })
    }
  }
  return leaks
}

/** The line with every known secret, in every form, replaced by <SECRET>. */
function mask(line: string): string {
  let out = line
  for (const hex of secrets.values()) for (const [, value] of forms(hex)) out = out.split(value).join('<SECRET>')
  return out
}

async function expectNoLeaks(only?: Array<{ label: string; proc: Proc }>): Promise<void> {
  const leaks = findLeaks(only)
  expect(
    leaks.map((l) => `${l.secret} in ${l.run} ${l.stream} line ${l.line}: ${l.masked}`),
    'secrets printed (masked)'
  ).toEqual([])
  // Nor is any keys file printed whole, nor any of its entries.
  for (const file of keysFiles) {
    const text = await readFile(file, 'utf8').catch(() => null)
    if (text === null) continue
    const entries = Object.values(JSON.parse(text) as Record<string, unknown>).map((e) => JSON.stringify(e))
    for (const { label, proc } of only ?? runs) {
      const out = proc.stdout() + proc.stderr()
      expect(out.includes(text.trim()), `the keys file ${file} appears in the output of ${label}`).toBe(false)
      for (const e of entries)
        expect(out.includes(e), `an entry of ${file} appears in the output of ${label}`).toBe(false)
    }
  }
}

function run(
  label: string,
  bin: 'agent' | 'session',
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: 'pipe' } = {}
): Proc {
  const proc = spawnBin(bin, [...args, ...TRACE], {
    cwd: dir,
    env: { ...DEBUG_ENV, ...opts.env },
    ...(opts.stdin ? { stdin: opts.stdin } : {})
  })
  runs.push({ label, proc })
  // A wait that fails quotes the bin's stderr: mask it, the secrets known by then included.
  const masked = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      throw new Error(mask(err instanceof Error ? err.message : String(err)))
    })
  return {
    ...proc,
    line: (match, stream) => masked(proc.line(match, stream)),
    json: (pred) => masked(proc.json(pred))
  } as Proc
}

/** A wallet account of its own for each path, so a leak names the path it came through. */
async function account(name: string, fundSats: number): Promise<{ name: string; nwcUri: string }> {
  const a = await network.devnet.wallet.createAccount(name, { fundSats })
  addSecret(`NWC secret of account "${name}"`, nwcSecretOf(a.nwcUri))
  return { name, nwcUri: a.nwcUri }
}

/** Reads the privkeys the bins created (or the test wrote) in a keys file. */
async function learnKeys(file: string, names: string[]): Promise<Record<string, { privkey: string; pubkey: string }>> {
  const keys = JSON.parse(await readFile(file, 'utf8')) as Record<string, { privkey: string; pubkey: string }>
  for (const n of names) addSecret(`privkey of "${n}" in ${file.slice(dir.length + 1)}`, keys[n]!.privkey)
  if (!keysFiles.includes(file)) keysFiles.push(file)
  return keys
}

function tunnelUrl(line: string): string {
  return /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] as string
}

/** The tunnel carries requests: a page, a txt2img, a download. */
async function useTunnel(base: string): Promise<void> {
  const page = await fetch(`${base}/`)
  expect(page.status).toBe(200)
  await page.text()
  const img = await fetch(`${base}/sdapi/v1/txt2img`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'a red fox', seed: 1, steps: 2, width: 64, height: 64 })
  })
  expect(img.status).toBe(200)
  expect(((await img.json()) as { images: string[] }).images).toHaveLength(1)
  const dl = await fetch(`${base}/download?bytes=65536`)
  expect(dl.status).toBe(200)
  expect((await dl.arrayBuffer()).byteLength).toBe(65536)
}

const bootstrapFlag = () => `--bootstrap=${network.devnet.state.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')}`
const relaysFlag = () => `--relays=${network.devnet.state.relays.join(',')}`

// -- the sessions -----------------------------------------------------------------------------------

test('the NWC URIs given as --nwc on both bins: paid ticks, the tunnel and the piped REPL print no secret', async () => {
  const keysFile = join(dir, 'keys-flag')
  const prov = await account('prov-flag', 0)
  const cust = await account('cust-flag', 100_000)
  const before = network.balanceMsat(cust.name)

  const agent = run('agent (--nwc)', 'agent', [
    network.flag,
    `--keys-file=${keysFile}`,
    '--agent=provider',
    `--nwc=${prov.nwcUri}`,
    '--sats-per-minute=60',
    '--tick-seconds=1',
    '--grace-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = run(
    'session (--nwc, --repl)',
    'session',
    [
      network.flag,
      `--keys-file=${keysFile}`,
      '--agent=customer',
      `--nwc=${cust.nwcUri}`,
      '--budget=1000',
      '--port=0',
      '--yes',
      '--repl',
      `--swarm-key=${ready.swarm_key}`
    ],
    { stdin: 'pipe' }
  )
  const base = tunnelUrl(await session.line(/tunnel open: http:\/\//))
  await learnKeys(keysFile, ['provider', 'customer'])
  await useTunnel(base)
  await session.line(/paid tick 3:/)
  await session.line(/type help for commands/)
  session.write('status\n')
  await session.line(/budget left\s+\d+ of 1000 sats/)
  session.write('skill\n')
  await session.line(/"name": "2020117 agent"/)
  session.write('generate "a red fox" --seed=1 --steps=2 --width=64 --height=64\n')
  await session.line(/saved .*seed1\.png/)
  session.write('quit\n')
  await session.line(/session ended: CUSTOMER_QUIT/)
  expect(await session.exited).toBe(0)
  agent.kill('SIGINT')
  await agent.json((e: { event?: string }) => e.event === 'summary')
  expect(await agent.exited).toBe(0)

  // The flag's wallets paid and were paid: the secrets really went through this path.
  expect(before - network.balanceMsat(cust.name)).toBeGreaterThanOrEqual(4 * 1000)
  expect(network.balanceMsat(prov.name)).toBe(before - network.balanceMsat(cust.name))
  await expectNoLeaks([runs.at(-2)!, runs.at(-1)!])
}, 120_000)

test('the NWC URIs in NWC_URI on both bins: paid ticks, the tunnel and the --json summary print no secret', async () => {
  const keysFile = join(dir, 'keys-env')
  const prov = await account('prov-env', 0)
  const cust = await account('cust-env', 100_000)
  const before = network.balanceMsat(cust.name)

  const agent = run(
    'agent (NWC_URI)',
    'agent',
    [
      network.flag,
      `--keys-file=${keysFile}`,
      '--agent=provider',
      '--sats-per-minute=60',
      '--tick-seconds=1',
      '--grace-seconds=5',
      '--json'
    ],
    {
      env: { NWC_URI: prov.nwcUri }
    }
  )
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = run(
    'session (NWC_URI, --json)',
    'session',
    [
      network.flag,
      `--keys-file=${keysFile}`,
      '--agent=customer',
      '--budget=1000',
      '--port=0',
      '--yes',
      '--no-repl',
      '--json',
      `--swarm-key=${ready.swarm_key}`
    ],
    { env: { NWC_URI: cust.nwcUri } }
  )
  const base = tunnelUrl(await session.line(/tunnel open: http:\/\//))
  await learnKeys(keysFile, ['provider', 'customer'])
  await useTunnel(base)
  await session.line(/paid tick 3:/)
  session.kill('SIGINT')
  const summary = await session.json<{ reason: string; ticks_paid: number; bytes_down: number }>((s) => 'reason' in s)
  expect(summary.reason).toBe('CUSTOMER_QUIT')
  expect(summary.ticks_paid).toBeGreaterThanOrEqual(4)
  expect(summary.bytes_down).toBeGreaterThan(65536)
  expect(await session.exited).toBe(0)
  await agent.json((e: { event?: string }) => e.event === 'session_ended')
  agent.kill('SIGINT')
  await agent.json((e: { event?: string }) => e.event === 'summary')
  expect(await agent.exited).toBe(0)

  expect(before - network.balanceMsat(cust.name)).toBeGreaterThanOrEqual(4 * 1000)
  expect(network.balanceMsat(prov.name)).toBe(before - network.balanceMsat(cust.name))
  await expectNoLeaks([runs.at(-2)!, runs.at(-1)!])
}, 120_000)

test('the NWC URIs in the keys file (nwc_uri), on the public-network flags, with --provider=<npub>: nothing printed', async () => {
  const keysFile = join(dir, 'keys-file')
  const prov = await account('prov-file', 0)
  const cust = await account('cust-file', 100_000)
  const before = network.balanceMsat(cust.name)
  const provKey = generateSecretKey()
  const custKey = generateSecretKey()
  const entry = (sk: Uint8Array, nwcUri: string) => ({
    privkey: Buffer.from(sk).toString('hex'),
    pubkey: getPublicKey(sk),
    nwc_uri: nwcUri
  })
  await writeFile(
    keysFile,
    JSON.stringify({ provider: entry(provKey, prov.nwcUri), customer: entry(custKey, cust.nwcUri) }, null, 2) + '\n',
    { mode: 0o600 }
  )
  await learnKeys(keysFile, ['provider', 'customer'])

  // Not --devnet: it would choose the devnet's own wallets over the keys file.
  const net = [bootstrapFlag(), relaysFlag()]
  const agent = run('agent (keys file)', 'agent', [
    ...net,
    `--keys-file=${keysFile}`,
    '--agent=provider',
    `--processor=${network.devnet.state.webui}`,
    '--sats-per-minute=60',
    '--tick-seconds=1',
    '--grace-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; npub: string }>((e) => e.event === 'ready')
  await agent.line(/announced on 1 relay/)
  const session = run(
    'session (keys file, --provider, --repl)',
    'session',
    [
      ...net,
      '--network=regtest',
      `--keys-file=${keysFile}`,
      '--agent=customer',
      '--budget=1000',
      '--port=0',
      '--yes',
      '--repl',
      `--provider=${ready.npub}`
    ],
    { stdin: 'pipe' }
  )
  const base = tunnelUrl(await session.line(/tunnel open: http:\/\//))
  await useTunnel(base)
  await session.line(/paid tick 2:/)
  await session.line(/type help for commands/)
  session.write('status\nskill\n')
  await session.line(/budget left\s+\d+ of 1000 sats/)
  await session.line(/"name": "2020117 agent"/)
  session.write('quit\n')
  await session.line(/session ended: CUSTOMER_QUIT/)
  expect(await session.exited).toBe(0)
  agent.kill('SIGINT')
  expect(await agent.exited).toBe(0)

  expect(before - network.balanceMsat(cust.name)).toBeGreaterThanOrEqual(3 * 1000)
  expect(network.balanceMsat(prov.name)).toBe(before - network.balanceMsat(cust.name))
  await expectNoLeaks([runs.at(-2)!, runs.at(-1)!])
}, 120_000)

// -- mistakes and listings --------------------------------------------------------------------------

test('mistakes print no secret: an unknown wallet secret, an nsec as --provider, a URI without its flag; and --list --json, --help', async () => {
  const keysFile = join(dir, 'keys-errors')
  const prov = await account('prov-errors', 0)
  const cust = await account('cust-errors', 100_000)
  const mine: Array<{ label: string; proc: Proc }> = []
  const runHere = (label: string, bin: 'agent' | 'session', args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) => {
    const proc = run(label, bin, args, opts)
    mine.push(runs.at(-1)!)
    return proc
  }

  const agent = runHere('agent (errors)', 'agent', [
    network.flag,
    `--keys-file=${keysFile}`,
    '--agent=provider',
    `--nwc=${prov.nwcUri}`,
    '--sats-per-minute=60',
    '--tick-seconds=1',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  await agent.line(/announced on 1 relay/)

  // The customer's own keys, learnt from a --list run that creates them.
  const list = runHere(
    'session --list --json',
    'session',
    [network.flag, '--list', '--json', `--keys-file=${keysFile}`, '--agent=customer'],
    { env: { NWC_URI: cust.nwcUri } }
  )
  const listed = await list.json<{ providers: Array<{ swarm_key: string; reachable: boolean }> }>(
    (v) => 'providers' in v
  )
  expect(listed.providers.find((p) => p.swarm_key === ready.swarm_key)).toMatchObject({ reachable: true })
  expect(await list.exited).toBe(0)
  const keys = await learnKeys(keysFile, ['provider', 'customer'])
  expect(listed.providers.length).toBeGreaterThan(0)

  // A wallet secret the wallet does not know (the real wallet and relay, a random secret).
  const unknown = randomBytes(32).toString('hex')
  addSecret('random NWC secret unknown to the wallet', unknown)
  const badUri = cust.nwcUri.replace(/secret=[0-9a-f]+/i, `secret=${unknown}`)
  expect(badUri.includes(unknown), 'the bad URI carries the random secret').toBe(true)
  const badSession = runHere('session (unknown NWC secret)', 'session', [
    network.flag,
    `--keys-file=${keysFile}`,
    '--agent=customer',
    `--nwc=${badUri}`,
    '--budget=100',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--swarm-key=${ready.swarm_key}`
  ])
  const badAgent = runHere(
    'agent (unknown NWC secret)',
    'agent',
    [network.flag, `--keys-file=${keysFile}`, '--agent=provider-2', '--sats-per-minute=5', '--json'],
    { env: { NWC_URI: badUri } }
  )

  // An nsec where a pubkey goes: someone else's (unknown to the bin) and the customer's own.
  const stranger = randomBytes(32).toString('hex')
  addSecret('random key passed as --provider', stranger)
  const nsecStranger = nip19.nsecEncode(new Uint8Array(Buffer.from(stranger, 'hex')))
  const nsecOwn = nip19.nsecEncode(new Uint8Array(Buffer.from(keys.customer!.privkey, 'hex')))
  const nsecRuns = [
    runHere('session --provider=<nsec> --json', 'session', [
      network.flag,
      `--keys-file=${keysFile}`,
      '--agent=customer',
      `--nwc=${cust.nwcUri}`,
      '--budget=100',
      '--yes',
      '--json',
      `--provider=${nsecStranger}`
    ]),
    runHere('session --provider=<own nsec>', 'session', [
      network.flag,
      `--keys-file=${keysFile}`,
      '--agent=customer',
      '--budget=100',
      '--yes',
      `--provider=${nsecOwn}`
    ]),
    runHere(
      'session SESSION_PROVIDER=<nsec>',
      'session',
      [network.flag, `--keys-file=${keysFile}`, '--agent=customer', '--budget=100', '--yes'],
      { env: { SESSION_PROVIDER: nsecStranger, NWC_URI: cust.nwcUri } }
    )
  ]
  // The URI pasted without --nwc=, or under a mistyped flag name.
  const pasted = runHere('session <uri> (no --nwc=)', 'session', [
    network.flag,
    `--keys-file=${keysFile}`,
    '--agent=customer',
    '--budget=100',
    cust.nwcUri
  ])
  const typo = runHere('session --nwc-uri=<uri>', 'session', [
    network.flag,
    `--keys-file=${keysFile}`,
    '--agent=customer',
    '--budget=100',
    `--nwc-uri=${cust.nwcUri}`
  ])
  const typoAgent = runHere('agent --wallet=<uri> --json', 'agent', [
    network.flag,
    `--keys-file=${keysFile}`,
    '--agent=provider',
    '--sats-per-minute=5',
    `--wallet=${prov.nwcUri}`,
    '--json'
  ])
  // --help with every secret in the environment.
  const help = runHere('session --help', 'session', ['--help', `--keys-file=${keysFile}`], {
    env: { NWC_URI: cust.nwcUri }
  })
  const agentHelp = runHere('agent --help', 'agent', ['--help'], { env: { NWC_URI: prov.nwcUri } })

  for (const p of nsecRuns) {
    // Your own nsec is recognised as such (PRIVATE_KEY_GIVEN); a stranger's is just not a pubkey.
    await p.line(/INVALID_PUBKEY|PRIVATE_KEY_GIVEN/)
    expect(await p.exited).not.toBe(0)
  }
  expect((await nsecRuns[0]!.json<{ ok: boolean; error: { code: string } }>((v) => 'error' in v)).error.code).toBe(
    'INVALID_PUBKEY'
  )
  await pasted.line(/UNEXPECTED_ARGUMENT/)
  expect(await pasted.exited).toBe(2)
  await typo.line(/UNKNOWN_FLAG/)
  expect(await typo.exited).toBe(2)
  await typoAgent.line(/UNKNOWN_FLAG/)
  expect(await typoAgent.exited).toBe(2)
  expect(await help.exited).toBe(0)
  expect(mask(help.stdout())).toMatch(/--nwc=URI/)
  expect(await agentHelp.exited).toBe(0)

  const badOut = await badSession.json<{ ok: boolean; error: { code: string } }>((v) => 'error' in v)
  expect(badOut.ok).toBe(false)
  expect(await badSession.exited).not.toBe(0)
  await badAgent.line(/^error [A-Z_]+:/)
  expect(await badAgent.exited).not.toBe(0)
  await learnKeys(keysFile, ['provider-2'])

  agent.kill('SIGINT')
  expect(await agent.exited).toBe(0)
  // The customer's wallet paid nothing through all of this.
  expect(network.balanceMsat(cust.name)).toBe(100_000 * 1000)
  await expectNoLeaks(mine)
}, 120_000)

test('an internal error with DEBUG_2020117=1 prints its stack, and no secret', async () => {
  // A devnet state file of a running devnet (this process) with accounts: null. With the NWC URIs
  // in the keys file, the bins look the devnet's wallets up there and hit a TypeError: an error
  // without a code of ours, which DEBUG_2020117 prints with its stack.
  const keysFile = join(dir, 'keys-internal')
  const prov = await account('prov-internal', 0)
  const cust = await account('cust-internal', 1000)
  const entry = (nwcUri: string) => {
    const sk = generateSecretKey()
    return { privkey: Buffer.from(sk).toString('hex'), pubkey: getPublicKey(sk), nwc_uri: nwcUri }
  }
  await writeFile(keysFile, JSON.stringify({ provider: entry(prov.nwcUri), customer: entry(cust.nwcUri) }) + '\n', {
    mode: 0o600
  })
  await learnKeys(keysFile, ['provider', 'customer'])
  const broken = await mkdtemp(join(dir, 'broken-devnet-'))
  const state = { ...network.devnet.state, pid: process.pid, accounts: null }
  await writeFile(join(broken, 'devnet.json'), JSON.stringify(state), { mode: 0o600 })

  const procs = [
    run('session (internal error)', 'session', [
      `--devnet=${broken}`,
      `--keys-file=${keysFile}`,
      '--agent=customer',
      '--budget=100',
      '--yes',
      '--swarm-key=' + 'ab'.repeat(32)
    ]),
    run('agent (internal error)', 'agent', [
      `--devnet=${broken}`,
      `--keys-file=${keysFile}`,
      '--agent=provider',
      '--sats-per-minute=5'
    ])
  ]
  for (const p of procs) {
    expect(await p.exited).toBe(1)
    expect(mask(p.stderr())).toMatch(/^error INTERNAL_ERROR:/m)
    // The stack trace (DEBUG_2020117=1) is there.
    expect(mask(p.stderr())).toMatch(/^\s+at .+:\d+:\d+\)?$/m)
  }
  await expectNoLeaks(runs.slice(-2))
}, 60_000)

test('a private key in hex passed as --provider is not printed back in any encoding', async () => {
  // The keys file keeps privkey and pubkey side by side, both 64 hex: copying the wrong one is an
  // easy mistake. The bin knows its own private key, so it can tell.
  const keysFile = join(dir, 'keys-hex-mistake')
  const cust = await account('cust-hex-mistake', 1000)
  const list = run('session --list (creates the keys)', 'session', [
    network.flag,
    '--list',
    `--keys-file=${keysFile}`,
    '--agent=customer'
  ])
  expect(await list.exited).toBe(0)
  const keys = await learnKeys(keysFile, ['customer'])
  const p = run('session --provider=<own privkey hex>', 'session', [
    network.flag,
    `--keys-file=${keysFile}`,
    '--agent=customer',
    `--nwc=${cust.nwcUri}`,
    '--budget=10',
    '--yes',
    '--json',
    `--provider=${keys.customer!.privkey}`
  ])
  const out = await p.json<{ ok: boolean; error: { code: string } }>((v) => 'error' in v)
  expect(out.ok).toBe(false)
  expect(await p.exited).not.toBe(0)
  expect(network.balanceMsat(cust.name)).toBe(1000 * 1000)
  await expectNoLeaks(runs.slice(-2))
}, 60_000)

test('the search itself finds every form of a secret, and a real bin that prints one by design (devnet account create)', async () => {
  // Positive controls, so that a silent capture or a broken search cannot pass the tests above.
  const probeHex = randomBytes(32).toString('hex')
  for (const [form, value] of forms(probeHex)) {
    const fake = { stdout: () => `ok\nleaks ${value} here\n`, stderr: () => '' } as unknown as Proc
    secrets.set('probe', probeHex)
    try {
      const leaks = findLeaks([{ label: 'fake', proc: fake }])
      expect(
        leaks.map((l) => [l.secret, l.line, l.masked]),
        form
      ).toContainEqual([`probe (${form})`, 2, 'leaks <SECRET> here'])
    } finally {
      secrets.delete('probe')
    }
  }
  const devnet = spawnBin('devnet', ['account', 'create', 'secrets-probe', `--dir=${network.dir}`, '--fund=1'])
  expect(await devnet.exited).toBe(0)
  const uri = /nostr\+walletconnect:\/\/\S+/.exec(devnet.stdout())?.[0] as string
  secrets.set('probe', nwcSecretOf(uri))
  try {
    const leaks = findLeaks([{ label: 'devnet account create', proc: devnet }])
    expect(
      leaks.some((l) => l.secret === 'probe (hex)' && l.stream === 'stdout' && l.masked.includes('secret=<SECRET>'))
    ).toBe(true)
  } finally {
    secrets.delete('probe')
  }
}, 30_000)

test('all output of every run, searched once more for every secret known by now', async () => {
  expect(runs.length).toBeGreaterThan(0)
  await expectNoLeaks()
})
