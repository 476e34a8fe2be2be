// Reputation in 2020117-session, end to end with the real bins on the local network: --list ranks
// the providers with their reputation; --min-score and flags set providers aside, with a typed error
// when nobody is left; --review and the prompt's review publish a kind 31117 whose proof of payment
// a reader accepts, for a tick the wallet ledger shows paid; a free or unpaid session is not reviewed.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, expect, test } from 'vitest'
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent, type Event } from 'nostr-tools/pure'
import { nsecEncode } from 'nostr-tools/nip19'
import { WebSocket } from 'ws'
import { RelayPool } from '@2020117/nostr'
import { buildReport, checkReviewProof } from '@2020117/reputation'
import { killAll, spawnBin, startTestNetwork } from '@2020117/testkit'
import { startFakeProvider } from './helpers/fake-provider.js'

useWebSocketImplementation(WebSocket)

const network = await startTestNetwork({ teardown: afterAll })
const relays = network.devnet.state.relays
let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), '2020117-rep-'))
})

afterEach(async () => {
  await killAll()
  await rm(dir, { recursive: true, force: true })
})

async function publish(event: Event): Promise<void> {
  const pool = new SimplePool()
  try {
    await Promise.all(pool.publish(relays, event))
  } finally {
    pool.close(relays)
  }
}

async function relayEvents(filter: Record<string, unknown>): Promise<Event[]> {
  const pool = new SimplePool()
  try {
    return await pool.querySync(relays, filter as never, { maxWait: 3000 })
  } finally {
    pool.close(relays)
  }
}

interface Customer {
  /** `--keys-file=… --agent=customer`: the session runs as this key. */
  flags: string[]
  secretKey: Uint8Array
  pubkey: string
}

/** A keys file holding a customer key the test also knows, so that it can sign the customer's follows. */
async function customer(): Promise<Customer> {
  const secretKey = generateSecretKey()
  const pubkey = getPublicKey(secretKey)
  const file = join(dir, 'customer-keys')
  const entry = { privkey: Buffer.from(secretKey).toString('hex'), pubkey }
  await writeFile(file, JSON.stringify({ customer: entry }), { mode: 0o600 })
  return { flags: [`--keys-file=${file}`, '--agent=customer'], secretKey, pubkey }
}

interface Ready {
  event: string
  swarm_key: string
  npub: string
  pubkey: string
}

async function startAgent(name: string, extra: string[]): Promise<Ready> {
  const agent = spawnBin('agent', [
    network.flag,
    `--keys-file=${join(dir, 'agent-keys')}`,
    `--agent=${name}`,
    `--name=${name}`,
    '--tick-seconds=2',
    '--json',
    ...extra
  ])
  const ready = await agent.json<Ready>((e) => e.event === 'ready')
  await agent.line(/announced on 1 relay/)
  return ready
}

/** The customer follows `reporters`, and each of them reports `subject`: 3 reporters in the graph flag it. */
async function flag(subject: string, viewerKey: Uint8Array): Promise<void> {
  const reporters = [generateSecretKey(), generateSecretKey(), generateSecretKey()]
  const follows = reporters.map((sk) => ['p', getPublicKey(sk)])
  const now = Math.floor(Date.now() / 1000)
  await network.publishAs(viewerKey, finalizeEvent({ kind: 3, created_at: now, tags: follows, content: '' }, viewerKey))
  for (const sk of reporters) await publish(buildReport(subject, 'spam', 'took the money, served nothing', sk))
}

const REPUTATION_KEYS = [
  'assertions',
  'evidence',
  'flagged',
  'jobs_completed',
  'pubkey',
  'reports',
  'reviews',
  'score',
  'terms',
  'wot',
  'zaps'
]

interface Row {
  rank: number | null
  skip_reason: string | null
  pubkey: string
  npub: string
  sats_per_minute: number | null
  effective_price_msat: number | null
  score: number
  flagged: boolean
  reputation: Record<string, any> | null
}

/** A session as the customer `c`: a budget, any port, no prompt, --json, and `extra`. */
function rent(c: Customer, extra: string[]) {
  return spawnBin('session', [
    network.flag,
    ...c.flags,
    '--budget=100',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    ...extra
  ])
}

async function list(c: Customer, extra: string[] = []): Promise<Row[]> {
  const proc = spawnBin('session', [network.flag, '--list', '--json', ...c.flags, ...extra])
  const { providers } = await proc.json<{ providers: Row[] }>((v) => 'providers' in v)
  expect(await proc.exited).toBe(0)
  return providers
}

test(
  '--list --json ranks providers by price against score, each with its rank, score, flag and every term; --min-score sets them aside',
  { timeout: 90_000 },
  async () => {
    const c = await customer()
    const cheap = await startAgent('cheap', ['--sats-per-minute=2'])
    const dear = await startAgent('dear', ['--sats-per-minute=9'])
    const rows = await list(c)
    const ours = rows.filter((r) => r.pubkey === cheap.pubkey || r.pubkey === dear.pubkey)
    expect(ours).toHaveLength(2)
    for (const r of ours) {
      expect(Object.keys(r.reputation ?? {}).sort()).toEqual(REPUTATION_KEYS)
      expect(r.reputation).toMatchObject({
        pubkey: r.pubkey,
        score: r.score,
        flagged: r.flagged,
        wot: { trusted_by: 0, trusted_by_your_follows: 0, trusted_by_your_graph: 0 },
        zaps: { total_sats: 0, count: 0, in_graph_sats: 0 },
        reviews: { verified: 0, unverified: 0, avg: null },
        reports: { in_graph: 0, total: 0, flagged: false },
        jobs_completed: 0,
        terms: { trust: 0, zaps: 0, jobs: 0, rating: 0 }
      })
      expect(r).toMatchObject({ score: 0, flagged: false, skip_reason: null })
      expect(r.effective_price_msat).toBe((r.sats_per_minute as number) * 1000)
    }
    // Ranks are 1, 2, … over the eligible rows, best (lowest price weighed by score) first.
    const ranked = rows.filter((r) => r.rank !== null)
    expect(ranked.map((r) => r.rank)).toEqual(ranked.map((_, i) => i + 1))
    const prices = ranked.map((r) => r.effective_price_msat as number)
    expect(prices).toEqual([...prices].sort((a, b) => a - b))
    const rankOf = (pubkey: string) => ours.find((r) => r.pubkey === pubkey)?.rank as number
    expect(rankOf(cheap.pubkey)).toBeLessThan(rankOf(dear.pubkey))

    const strict = await list(c, ['--min-score=1'])
    for (const pubkey of [cheap.pubkey, dear.pubkey])
      expect(strict.find((r) => r.pubkey === pubkey)).toMatchObject({ rank: null, skip_reason: 'LOW_SCORE', score: 0 })

    const human = spawnBin('session', [network.flag, '--list', ...c.flags])
    expect(await human.exited).toBe(0)
    expect(human.stdout()).toMatch(new RegExp(`^#${rankOf(cheap.pubkey)}\\s+score 0\\s+${cheap.npub}\\s+cheap`, 'm'))
  }
)

test(
  '--min-score above every score: ALL_BELOW_MIN_SCORE, saying which flag to change, and nothing is paid',
  { timeout: 60_000 },
  async () => {
    const c = await customer()
    const ready = await startAgent('modest', ['--sats-per-minute=3'])
    const before = network.balanceMsat('customer')
    const session = rent(c, ['--min-score=1000', `--swarm-key=${ready.swarm_key}`])
    const out = await session.json<{ ok: boolean; error: { code: string; message: string } }>((v) => 'error' in v)
    expect(out.error.code).toBe('ALL_BELOW_MIN_SCORE')
    expect(out.error.message).toContain('--min-score')
    expect(await session.exited).toBe(1)
    expect(session.stderr()).toMatch(/3 sats\/min\s+score 0\s/)
    expect(network.balanceMsat('customer')).toBe(before)
  }
)

/** A loopback port nothing listens on: a relay there cannot be reached. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

test(
  'a relay that cannot be reached leaves every provider at score 0 with a warning, and the session goes on',
  { timeout: 60_000 },
  async () => {
    const c = await customer()
    const provider = await startAgent('alone', ['--sats-per-minute=4'])
    const session = rent(c, [`--relays=ws://127.0.0.1:${await closedPort()}`, `--swarm-key=${provider.swarm_key}`])
    await session.line(/none of the 1 relay\(s\) could be reached to read reputations: every provider scores 0/)
    await session.line(/tunnel open/)
    expect(session.stderr()).toMatch(/4 sats\/min\s+score 0\s/)
    session.kill('SIGINT')
    expect(await session.json<{ reason: string }>((s) => 'reason' in s)).toMatchObject({ reason: 'CUSTOMER_QUIT' })
  }
)

test(
  'a provider flagged by 3 reporters the customer follows is skipped for a dearer one, shown FLAGGED, listed last, and rented with --allow-flagged',
  { timeout: 120_000 },
  async () => {
    const c = await customer()
    const flagged = await startAgent('flagged', ['--sats-per-minute=1'])
    const honest = await startAgent('honest', ['--sats-per-minute=5'])
    await flag(flagged.pubkey, c.secretKey)

    const session = rent(c, [])
    await session.line(/tunnel open/)
    expect(session.stderr()).toMatch(
      new RegExp(`1 sats/min\\s+score -?[\\d.]+ FLAGGED\\s.*${flagged.swarm_key.slice(0, 16)}`)
    )
    session.kill('SIGINT')
    expect(await session.json<{ provider: string }>((s) => 'reason' in s)).toMatchObject({ provider: honest.swarm_key })

    const rows = await list(c)
    expect(rows.find((r) => r.pubkey === flagged.pubkey)).toMatchObject({
      rank: null,
      skip_reason: 'FLAGGED',
      flagged: true
    })
    expect(rows.findIndex((r) => r.pubkey === flagged.pubkey)).toBeGreaterThan(
      rows.findIndex((r) => r.pubkey === honest.pubkey)
    )

    const only = rent(c, [`--swarm-key=${flagged.swarm_key}`])
    const refused = await only.json<{ error: { code: string; message: string } }>((v) => 'error' in v)
    expect(refused.error).toMatchObject({ code: 'ALL_FLAGGED', message: expect.stringContaining('--allow-flagged') })

    const allowed = rent(c, ['--allow-flagged'])
    await allowed.line(/tunnel open/)
    allowed.kill('SIGINT')
    expect(await allowed.json<{ provider: string }>((s) => 'reason' in s)).toMatchObject({
      provider: flagged.swarm_key
    })
  }
)

/** The review event `id`, its proof checked as every reader checks it, and the ledger's word that it was paid. */
async function provenReview(id: string, c: Customer, provider: Ready): Promise<Event> {
  const [review] = await relayEvents({ ids: [id] })
  expect(review).toBeDefined()
  const event = review as Event
  expect(verifyEvent(event)).toBe(true)
  expect(event).toMatchObject({ kind: 31117, pubkey: c.pubkey })
  const tag = (name: string) => event.tags.find((t) => t[0] === name)?.[1] as string
  expect(tag('d')).toMatch(/^[0-9a-f]{32}$/)
  expect(tag('p')).toBe(provider.pubkey)
  expect(tag('k')).toBe('5200')
  const proof = checkReviewProof({
    id: tag('d'),
    provider: provider.pubkey,
    author: c.pubkey,
    bolt11: tag('bolt11'),
    preimage: tag('preimage'),
    network: 'regtest'
  })
  const paid = network.devnet.wallet.lookupInvoice('customer', { paymentHash: proof.paymentHash })
  expect(paid).toMatchObject({ type: 'outgoing', state: 'settled', amount: proof.amountMsat })
  // What is public: the invoice, the preimage of a paid invoice, the rating. No secret of the customer.
  const text = JSON.stringify(event)
  expect(text).not.toContain(Buffer.from(c.secretKey).toString('hex'))
  expect(text).not.toContain(/secret=([0-9a-f]{64})/.exec(network.devnet.state.accounts.customer!.nwc_uri)![1])
  return event
}

test(
  '--review=5:TEXT publishes a 31117 when the session ends, its proof the last paid tick (accepted by checkReviewProof, paid in the ledger)',
  { timeout: 60_000 },
  async () => {
    const c = await customer()
    const provider = await startAgent('reviewed', ['--sats-per-minute=6'])
    const session = rent(c, ['--review=5:fast and fair', `--swarm-key=${provider.swarm_key}`])
    await session.line(/paid tick \d+/)
    session.kill('SIGINT')
    const summary = await session.json<{ ticks_paid: number; review: { event_id: string; relays: number } }>(
      (s) => 'reason' in s
    )
    expect(await session.exited).toBe(0)
    expect(summary.ticks_paid).toBeGreaterThanOrEqual(1)
    expect(summary.review).toEqual({ event_id: expect.stringMatching(/^[0-9a-f]{64}$/), relays: 1 })
    expect(session.stderr()).toMatch(/review of 5\/5 \(tick \d+ as proof\) published on 1 relay/)
    const event = await provenReview(summary.review.event_id, c, provider)
    expect(event.tags).toContainEqual(['rating', '5'])
    expect(event.content).toBe('fast and fair')
  }
)

test(
  'the prompt\'s review 4 "fast and fine" publishes the same review during the session',
  { timeout: 60_000 },
  async () => {
    const c = await customer()
    const provider = await startAgent('prompted', ['--sats-per-minute=6'])
    const session = spawnBin(
      'session',
      [network.flag, ...c.flags, '--budget=100', '--port=0', '--yes', '--repl', `--swarm-key=${provider.swarm_key}`],
      { cwd: dir, stdin: 'pipe' }
    )
    await session.line(/type help for commands/)
    session.write(`review 9\nreview 5 "my key ${nsecEncode(c.secretKey)}"\nreview 4 "fast and fine"\n`)
    await session.line(/error: give a rating from 1 to 5/)
    await session.line(/error: REVIEW_HOLDS_SECRET: /)
    const line = await session.line(/review published: event [0-9a-f]{64} on 1 relay/)
    session.write('quit\n')
    await session.line(/session ended: CUSTOMER_QUIT/)
    expect(await session.exited).toBe(0)
    const event = await provenReview(/event ([0-9a-f]{64})/.exec(line)![1] as string, c, provider)
    expect(event.tags).toContainEqual(['rating', '4'])
    expect(event.content).toBe('fast and fine')
    expect(session.stdout() + session.stderr()).not.toContain(nsecEncode(c.secretKey))
    for (const e of await relayEvents({ kinds: [31117], authors: [c.pubkey] }))
      expect(e.content).not.toContain(nsecEncode(c.secretKey))
  }
)

test('--review whose text holds your private key is refused before anything starts, and not echoed', async () => {
  const c = await customer()
  const hex = Buffer.from(c.secretKey).toString('hex')
  const session = rent(c, [`--review=5:great, here is my key ${hex}`])
  const out = await session.json<{ error: { code: string } }>((v) => 'error' in v)
  expect(out.error.code).toBe('REVIEW_HOLDS_SECRET')
  expect(await session.exited).toBe(1)
  expect(session.stdout() + session.stderr()).not.toContain(hex)
})

test(
  'a free session cannot be reviewed: --review is refused before it starts, the prompt says REVIEW_NOT_PAID, nothing is published',
  { timeout: 60_000 },
  async () => {
    const c = await customer()
    const provider = await startAgent('gratis', ['--free'])
    const flags = [network.flag, ...c.flags, '--budget=100', '--port=0', '--yes', `--swarm-key=${provider.swarm_key}`]
    const refused = spawnBin('session', [...flags, '--no-repl', '--json', '--review=5'])
    const out = await refused.json<{ error: { code: string; message: string } }>((v) => 'error' in v)
    expect(out.error).toMatchObject({ code: 'REVIEW_NOT_PAID', message: expect.stringContaining('free') })
    expect(await refused.exited).toBe(1)

    const prompt = spawnBin('session', [...flags, '--repl'], { cwd: dir, stdin: 'pipe' })
    await prompt.line(/type help for commands/)
    prompt.write('review 5 "free and fast"\n')
    await prompt.line(/error: REVIEW_NOT_PAID: this session is free/)
    prompt.write('quit\n')
    expect(await prompt.exited).toBe(0)
    expect(await relayEvents({ kinds: [31117], authors: [c.pubkey] })).toEqual([])
  }
)

test(
  'a paid session that ended before any tick was paid is not reviewed: the summary says REVIEW_NOT_PAID',
  { timeout: 60_000 },
  async () => {
    const c = await customer()
    const fake = await startFakeProvider(network, {
      kind: 5200,
      satsPerMinute: 1,
      scenario: (s) => {
        s.send({
          type: 'session_end',
          sessionId: s.sessionId,
          by: 'provider',
          reason: 'PROVIDER_SHUTDOWN',
          message: '',
          ticksPaid: 0,
          msatPaid: 0,
          durationMs: 0
        })
        s.close()
      }
    })
    try {
      const session = rent(c, ['--review=2:never served', `--swarm-key=${fake.swarmKey}`])
      const summary = await session.json<{ ticks_paid: number; review: { error: { code: string } } }>(
        (s) => 'reason' in s
      )
      expect(summary.ticks_paid).toBe(0)
      expect(summary.review.error.code).toBe('REVIEW_NOT_PAID')
      expect(session.stderr()).toMatch(/review not published \(REVIEW_NOT_PAID\): this session has paid no tick/)
      expect(await relayEvents({ kinds: [31117], authors: [c.pubkey] })).toEqual([])
    } finally {
      await fake.close()
    }
  }
)
