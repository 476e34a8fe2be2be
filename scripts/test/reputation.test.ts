// Issue 13's acceptance, on the local network with its relay, wallet and Lightning-address server:
// two providers of the same service, one that serves well and has what a stranger cannot fake
// cheaply (vouches from the customer's follows, a validated zap from one of them, a review carrying
// its proof of payment), and one with forged signals only (a receipt re-signed by another key, a
// self-zap, strangers' vouches and reviews, a review whose proof names the other provider). The
// forged one is cheaper. `--list --json` ranks the honest one first with every term shown, and
// 2020117-job and 2020117-session, given no provider, both choose it: the wallet ledger says whom
// they paid.

import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { RelayPool } from '@2020117/nostr'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const net = await startTestNetwork({ teardown: afterAll })
const dir = await mkdtemp(join(tmpdir(), '2020117-reputation-'))
const relay = net.devnet.relay.url
const KIND = 5100
const GOOD = { sats_per_minute: 6, job_sats: 30 }
const FORGED = { sats_per_minute: 3, job_sats: 15 }

interface Key {
  secretKey: Uint8Array
  pubkey: string
  /** `--keys-file=… --agent=NAME`: a bin runs as this key. */
  flags: string[]
}

async function key(name: string, extra: Record<string, unknown> = {}): Promise<Key> {
  const secretKey = generateSecretKey()
  const pubkey = getPublicKey(secretKey)
  const file = join(dir, `${name}.keys`)
  await writeFile(
    file,
    JSON.stringify({ [name]: { privkey: Buffer.from(secretKey).toString('hex'), pubkey, ...extra } }),
    {
      mode: 0o600
    }
  )
  return { secretKey, pubkey, flags: [`--keys-file=${file}`, `--agent=${name}`] }
}

async function publish(...events: Event[]): Promise<void> {
  const pool = new RelayPool([relay])
  try {
    for (const e of events) expect(await pool.publish(e)).toBe(1)
  } finally {
    pool.close()
  }
}

const now = () => Math.floor(Date.now() / 1000)
const sign = (sk: Uint8Array, kind: number, tags: string[][], content = '') =>
  finalizeEvent({ kind, created_at: now(), tags, content }, sk)

let customer: Key
let follows: Key[]
let good: { key: Key; npub: string }
let forged: { key: Key; npub: string }

async function startProvider(account: string, price: { sats_per_minute: number; job_sats: number }) {
  const { nwcUri } = await net.devnet.wallet.createAccount(account, { fundSats: 0 })
  const k = await key(account)
  const lud16 = `${account}@${new URL(net.devnet.state.lnurl!.url).host}`
  const agent = spawnBin('agent', [
    net.flag,
    ...k.flags,
    `--name=${account}`,
    `--nwc=${nwcUri}`,
    `--zap-address=${lud16}`,
    `--kind=${KIND}`,
    `--sats-per-minute=${price.sats_per_minute}`,
    `--job-price=${price.job_sats}`,
    '--tick-seconds=2',
    '--json'
  ])
  const ready = await agent.json<{ npub: string; pubkey: string }>((e) => e.event === 'ready')
  expect(ready.pubkey).toBe(k.pubkey)
  await agent.line(/announced on 1 relay/)
  return { key: k, npub: ready.npub }
}

beforeAll(async () => {
  const fan = await net.devnet.wallet.createAccount('fan', { fundSats: 10_000 })
  customer = await key('customer')
  follows = await Promise.all(['f1', 'f2', 'f3'].map((n) => key(n, { nwc_uri: fan.nwcUri })))
  await publish(
    sign(
      customer.secretKey,
      3,
      follows.map((f) => ['p', f.pubkey])
    )
  )
  good = await startProvider('good', GOOD)
  forged = await startProvider('forged', FORGED)
  await honestSignals()
  await forgedSignals()
}, 180_000)

/** Two of the customer's follows vouch for the good provider; one zaps it, and buys a job and reviews it. */
async function honestSignals(): Promise<void> {
  for (const f of follows.slice(0, 2)) {
    const vouch = spawnBin('trust', ['vouch', good.npub, net.flag, ...f.flags, '--json'])
    expect(await vouch.exited, vouch.stderr()).toBe(0)
  }
  const [f1] = follows as [Key]
  await net.zap({
    senderSecretKey: f1.secretKey,
    payer: 'fan',
    recipient: 'good',
    recipientPubkey: good.key.pubkey,
    sats: 1000
  })
  const before = net.balanceMsat('good')
  const job = spawnBin('job', [
    net.flag,
    ...f1.flags,
    `--kind=${KIND}`,
    `--provider=${good.npub}`,
    '--input=a lighthouse at dawn',
    `--output=${join(dir, 'f1.png')}`,
    '--bid=50',
    '--review=5:fast and as asked',
    '--json'
  ])
  const summary = await job.json<{ status: string; review: { event_id: string } | null }>((s) => 'status' in s)
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary.review?.event_id).toMatch(/^[0-9a-f]{64}$/)
  expect(net.balanceMsat('good') - before).toBe(GOOD.job_sats * 1000)
}

/** What strangers can do for free, or for the cost of paying themselves. */
async function forgedSignals(): Promise<void> {
  const sybils = Array.from({ length: 5 }, () => generateSecretKey())
  // A real receipt for a real self-zap, then the same receipt signed by a key that is not the server's.
  const selfZap = await net.zap({
    senderSecretKey: forged.key.secretKey,
    payer: 'fan',
    recipient: 'forged',
    recipientPubkey: forged.key.pubkey,
    sats: 5000
  })
  const resigned = finalizeEvent(
    { kind: selfZap.kind, created_at: selfZap.created_at, tags: selfZap.tags, content: selfZap.content },
    sybils[0]!
  )
  // The good provider's real proof of payment, copied into a review of the forged one.
  const [f1review] = await new RelayPool([relay]).query({ kinds: [31117], '#p': [good.key.pubkey] })
  const proof = f1review!.tags.filter((t) => t[0] === 'bolt11' || t[0] === 'preimage')
  const d = f1review!.tags.find((t) => t[0] === 'd')!
  await publish(
    resigned,
    ...sybils.map((sk) =>
      sign(sk, 30382, [
        ['d', forged.key.pubkey],
        ['p', forged.key.pubkey],
        ['assertion', 'trusted']
      ])
    ),
    ...sybils.map((sk, i) =>
      sign(
        sk,
        31117,
        [
          ['d', `${String(i).repeat(64)}`],
          ['p', forged.key.pubkey],
          ['rating', '5'],
          ['k', String(KIND)]
        ],
        'best'
      )
    ),
    sign(
      sybils[1]!,
      31117,
      [d, ['p', forged.key.pubkey], ['rating', '5'], ['k', String(KIND)], ...proof],
      'paid, honest'
    )
  )
  // 50 strangers report the good provider: outside the customer's graph, they flag nobody.
  await publish(
    ...Array.from({ length: 50 }, () => sign(generateSecretKey(), 1984, [['p', good.key.pubkey, 'spam']], 'scam'))
  )
}

test('--list --json ranks the honest provider first, with every term of both shown', { timeout: 60_000 }, async () => {
  const list = spawnBin('session', [net.flag, ...customer.flags, '--list', `--kind=${KIND}`, '--json'])
  const { providers } = await list.json<{ providers: Array<Record<string, any>> }>((v) => 'providers' in v)
  expect(await list.exited, list.stderr()).toBe(0)
  const [first, second] = providers
  expect(first).toMatchObject({ pubkey: good.key.pubkey, rank: 1, flagged: false })
  expect(second).toMatchObject({ pubkey: forged.key.pubkey, rank: 2, flagged: false })
  expect(first!.reputation).toMatchObject({
    wot: { trusted_by: 2, trusted_by_your_follows: 2 },
    zaps: { total_sats: 1000, count: 1 },
    reviews: { verified: 1, unverified: 0, avg: 5 },
    reports: { in_graph: 0, total: 50, flagged: false },
    jobs_completed: 1,
    terms: { trust: 200, zaps: 30, jobs: 5, rating: 20 },
    score: 255
  })
  expect(second!.reputation).toMatchObject({
    wot: { trusted_by: 5, trusted_by_your_follows: 0 },
    zaps: { total_sats: 0, count: 0 },
    reviews: { verified: 0, unverified: 6 },
    jobs_completed: 0,
    terms: { trust: 0, zaps: 0, jobs: 0, rating: 0 },
    score: 0
  })
  expect(first!.reputation.evidence.vouches).toHaveLength(2)
  expect(first!.reputation.evidence.reviews_verified).toHaveLength(1)
})

test(
  '2020117-job, given no provider, pays the honest one although the forged one bid lower',
  { timeout: 90_000 },
  async () => {
    const before = { good: net.balanceMsat('good'), forged: net.balanceMsat('forged') }
    const job = spawnBin('job', [
      net.flag,
      ...customer.flags,
      `--kind=${KIND}`,
      '--input=a lighthouse at dusk',
      `--output=${join(dir, 'customer.png')}`,
      '--bid=50',
      '--offer-wait=5',
      '--json'
    ])
    const summary = await job.json<{ status: string; provider: string }>((s) => 'status' in s)
    expect(await job.exited, job.stderr()).toBe(0)
    expect(summary).toMatchObject({ status: 'delivered', provider: good.npub })
    expect(net.balanceMsat('good') - before.good).toBe(GOOD.job_sats * 1000)
    expect(net.balanceMsat('forged')).toBe(before.forged)
  }
)

test(
  '2020117-session, given no provider, rents the honest one although the forged one is cheaper',
  { timeout: 90_000 },
  async () => {
    const before = { good: net.balanceMsat('good'), forged: net.balanceMsat('forged') }
    const session = spawnBin('session', [
      net.flag,
      ...customer.flags,
      `--kind=${KIND}`,
      '--budget=100',
      '--max-price=10',
      '--port=0',
      '--no-repl',
      '--json'
    ])
    await session.line(/tunnel open/)
    session.kill('SIGINT')
    const summary = await session.json<{ reason: string; msat_paid: number }>((s) => 'reason' in s)
    await session.exited
    expect(summary.msat_paid, session.stderr()).toBeGreaterThan(0)
    expect(net.balanceMsat('good') - before.good).toBe(summary.msat_paid)
    expect(net.balanceMsat('forged')).toBe(before.forged)
  }
)
