// The choice wiring inside a real JobRun (relay, wallet and providers of the local network), with an
// injected Rater: the run pays whom the reputations say (price against score), refuses a flagged
// --provider unless flagged ones are allowed, a rating that never comes holds the payment only up
// to its bound (unrated, a warning), and an unrated provider comes after every rated one (refused
// with --min-score above 0). The ledger judges each one. And a request its identity had already
// posted is made again before it is followed.

import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { createLogger } from '@2020117/cli'
import { buildRequest } from '@2020117/jobs'
import { RelayPool } from '@2020117/nostr'
import type { Rater } from '@2020117/reputation'
import { startTestNetwork } from '@2020117/testkit'
import { NwcWallet } from '@2020117/wallet'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import type { ChoiceTerms } from '../src/choose.js'
import { PaidHashes, PostedRequests } from '../src/paid.js'
import { JobRun, type JobRunOptions } from '../src/run.js'
import { startProvider } from './helpers/provider.js'
import { fakeRater, reputationOf } from './helpers/reputation.js'
import { tempDir } from './helpers/temp.js'

const net = await startTestNetwork({ teardown: afterAll })
const a = await startProvider(net, 5050, { teardown: afterAll })
const b = await startProvider(net, 5050, { teardown: afterAll })
const wallet = await NwcWallet.connect(net.devnet.state.accounts.customer!.nwc_uri)
/** One pool per run, of the run's key: it mines the request (10 bits) and signs it again. */
const pools: RelayPool[] = []
afterAll(() => {
  for (const pool of pools) pool.close()
  wallet.close()
})

const NONE: ChoiceTerms = { minScore: null, allowFlagged: false, minZapSats: null }

async function startRun(
  rater: Rater,
  o: {
    provider?: string
    choice?: ChoiceTerms
    offerWaitMs?: number
    ratingWaitMs?: number
    posted?: JobRunOptions['posted']
  } = {}
): Promise<{ run: JobRun; lines: string[]; line: (match: RegExp) => Promise<void> }> {
  const secretKey = generateSecretKey()
  const relays = [net.devnet.relay.url]
  const pool = new RelayPool(relays, { persistent: true, secretKey })
  pools.push(pool)
  const request = buildRequest(
    {
      kind: 5050,
      inputs: [{ data: 'rate us', type: 'text' }],
      bidMsat: 9000,
      relays,
      ...(o.provider ? { provider: o.provider } : {})
    },
    secretKey
  )
  const keys = join(await tempDir('job-run-'), 'keys')
  const paid = await PaidHashes.open(keys, 'me')
  const posted = o.posted ?? (await PostedRequests.open(keys, 'me'))
  const lines: string[] = []
  const waiting: Array<{ match: RegExp; resolve: () => void }> = []
  const write = (line: string) => {
    lines.push(line)
    for (const w of waiting.filter((w) => w.match.test(line))) w.resolve()
  }
  const line = (match: RegExp) =>
    lines.some((l) => match.test(l))
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.push({ match, resolve }))
  const run = new JobRun({
    request,
    ref: { id: request.id, kind: 5050, customer: getPublicKey(secretKey), encryption: null },
    secretKey,
    pool,
    wallet,
    terms: { maxAmountMsat: 9000, maxFeeMsat: 1000, network: 'regtest', paid },
    posted,
    provider: o.provider ?? null,
    offerWaitMs: o.offerWaitMs ?? (o.provider ? 0 : 2000),
    rater,
    ratingWaitMs: o.ratingWaitMs ?? 5000,
    choice: o.choice ?? NONE,
    deadline: Date.now() + 30_000,
    fetchBlob: () => Promise.reject(new Error('no blobs here')),
    log: createLogger({ level: 'debug', write })
  })
  await run.start()
  return { run, lines, line }
}

test('a pricier provider with a higher score is paid, not the cheaper stranger; the summary has both scores', async () => {
  const before = net.balanceMsat('customer')
  const rater = fakeRater({ [a.pubkey]: reputationOf(a.pubkey, { score: 100 }) })
  const { run, lines } = await startRun(rater)
  const [forA, forB] = await Promise.all([a.nextRequest(), b.nextRequest()])
  const cheap = await b.offer(forB, 4000)
  const dear = await a.offer(forA, 6000)
  await a.paid(dear)
  await a.deliver(forA, 'worth it')
  const outcome = await run.ended()
  expect(outcome.status).toBe('delivered')
  expect(run.accounts.provider).toBe(a.pubkey)
  expect(run.accounts.reputation?.score).toBe(100)
  expect(run.accounts.considered).toEqual([
    expect.objectContaining({ provider: a.pubkey, amountMsat: 6000, score: 100, effectivePriceMsat: 3000 }),
    expect.objectContaining({ provider: b.pubkey, amountMsat: 4000, score: 0, effectivePriceMsat: 4000 })
  ])
  expect(lines.join('\n')).toMatch(/offer from npub1\S+: 6000 msat, score 100/)
  expect(before - net.balanceMsat('customer')).toBe(6000)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: cheap.paymentHash }).state).not.toBe('settled')
})

test('a flagged --provider is refused (JOB_PROVIDER_FLAGGED) and never paid; with allowFlagged it is paid', async () => {
  const before = net.balanceMsat('customer')
  const rater = fakeRater({ [a.pubkey]: reputationOf(a.pubkey, { score: 50, flagged: true }) })
  const refused = await startRun(rater, { provider: a.pubkey })
  const invoice = await a.offer(await a.nextRequest(), 3000)
  const outcome = await refused.run.ended()
  expect(outcome.status).toBe('offer_refused')
  expect(outcome.error).toMatchObject({ code: 'OFFER_REFUSED' })
  expect(refused.run.accounts.refused?.reason).toBe('JOB_PROVIDER_FLAGGED')
  expect(refused.lines.join('\n')).toMatch(/score 50, FLAGGED/)
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')

  const allowed = await startRun(rater, { provider: a.pubkey, choice: { ...NONE, allowFlagged: true } })
  const request = await a.nextRequest()
  const paid = await a.offer(request, 3000)
  await a.paid(paid)
  await a.deliver(request, 'flagged but allowed')
  expect((await allowed.run.ended()).status).toBe('delivered')
  expect(before - net.balanceMsat('customer')).toBe(3000)
})

test('a rating that never comes holds the payment only to its bound: paid unrated (none rated), with a warning', async () => {
  const before = net.balanceMsat('customer')
  const { run, lines } = await startRun(fakeRater({ [a.pubkey]: 'hang' }), { provider: a.pubkey, ratingWaitMs: 300 })
  const request = await a.nextRequest()
  const invoice = await a.offer(request, 2000)
  await a.paid(invoice)
  await a.deliver(request, 'paid without a rating')
  expect((await run.ended()).status).toBe('delivered')
  expect(run.accounts.reputation).toBeNull()
  expect(lines.join('\n')).toMatch(/no reputation for .* within 300 ms: unrated/)
  expect(lines.join('\n')).toMatch(/offer from npub1\S+: 2000 msat, unrated/)
  expect(lines.join('\n')).toMatch(/paying npub1\S+, unrated: no rated provider's offer qualified/)
  expect(before - net.balanceMsat('customer')).toBe(2000)
})

test('a flagged provider whose rating hangs is not paid at score 0: the rated provider is, though dearer', async () => {
  const before = net.balanceMsat('customer')
  const rater = fakeRater({ [b.pubkey]: 'hang', [a.pubkey]: reputationOf(a.pubkey, { score: 0 }) })
  const { run, lines, line } = await startRun(rater, { ratingWaitMs: 300 })
  const [forA, forB] = await Promise.all([a.nextRequest(), b.nextRequest()])
  // B's offer opens the window (B rated at once, alone); A's is rated when the window closes.
  const cheap = await b.offer(forB, 1000)
  await line(new RegExp(`offer from ${b.npub}: 1000 msat; rating its provider`))
  const dear = await a.offer(forA, 6000)
  await a.paid(dear)
  await a.deliver(forA, 'rated, so paid')
  expect((await run.ended()).status).toBe('delivered')
  expect(run.accounts.provider).toBe(a.pubkey)
  expect(run.accounts.considered.map((c) => [c.provider, c.rated])).toEqual([
    [a.pubkey, true],
    [b.pubkey, false]
  ])
  expect(lines.join('\n')).toMatch(new RegExp(`offer from ${b.npub}: 1000 msat, unrated`))
  expect(before - net.balanceMsat('customer')).toBe(6000)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: cheap.paymentHash }).state).not.toBe('settled')
})

test('with --min-score above 0, an unrated provider is refused (JOB_UNRATED) and never paid', async () => {
  const before = net.balanceMsat('customer')
  const { run } = await startRun(fakeRater({ [a.pubkey]: 'hang' }), {
    provider: a.pubkey,
    ratingWaitMs: 300,
    choice: { ...NONE, minScore: 1 }
  })
  const invoice = await a.offer(await a.nextRequest(), 2000)
  const outcome = await run.ended()
  expect(outcome.status).toBe('offer_refused')
  expect(run.accounts.refused?.reason).toBe('JOB_UNRATED')
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
})

test('Ctrl-C while a rating is awaited: the request is cancelled at once and the offer never paid', async () => {
  const before = net.balanceMsat('customer')
  const { run, line } = await startRun(fakeRater({ [a.pubkey]: 'hang' }), { provider: a.pubkey, ratingWaitMs: 600_000 })
  const invoice = await a.offer(await a.nextRequest(), 2000)
  await line(/offer from npub1\S+: 2000 msat; rating its provider/)
  run.interrupt()
  expect((await run.ended()).status).toBe('cancelled')
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
})

test('a request the identity had already posted is made again, a second later, and only that one is followed and paid', async () => {
  const before = net.balanceMsat('customer')
  // The record says the first make was posted (the same job, the same second, by another run).
  const claimed: string[] = []
  const posted = { claim: async (id: string) => claimed.push(id) > 1 }
  const { run } = await startRun(fakeRater({}), { provider: a.pubkey, posted })
  expect(claimed).toHaveLength(2)
  expect(run.requestId).toBe(claimed[1])
  const request = await a.nextRequest()
  expect(request.id).toBe(claimed[1])
  await a.paid(await a.offer(request, 2000))
  await a.deliver(request, 'the new one')
  const outcome = await run.ended()
  expect(outcome.status).toBe('delivered')
  expect(outcome.result?.content).toBe('the new one')
  expect(before - net.balanceMsat('customer')).toBe(2000)
})
