// 2020117-job chooses by reputation on the local network (issue 13): --min-score and --min-zap-sats
// refuse offers (each with its code, logged, never paid), and --review publishes a review whose
// proof of payment holds after a paid job, and nothing after a free one. The ledger judges.

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import type { JobRequest } from '@2020117/jobs'
import { RelayPool } from '@2020117/nostr'
import { kinds, MIN_ZAP_SATS_PARAM } from '@2020117/protocol'
import { buildVouch, checkReviewProof, ReputationReader } from '@2020117/reputation'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent, type Event } from 'nostr-tools/pure'
import { startProvider, type TestProvider } from './helpers/provider.js'
import { tempDir } from './helpers/temp.js'

const translate = fileURLToPath(new URL('../../agent/examples/translate.sh', import.meta.url))
const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5050, { teardown: afterAll })
const pool = new RelayPool([net.devnet.relay.url])

afterAll(() => pool.close())

describe('refusals by reputation', () => {
  test('--min-score above every provider: its offer is logged with its score, refused (JOB_LOW_SCORE), exit 5, nothing paid', async () => {
    const before = net.balanceMsat('customer')
    const job = spawnBin('job', [
      net.flag,
      '--kind=5050',
      '--input=only the best',
      '--bid=10',
      '--offer-wait=0',
      '--min-score=1',
      '--timeout=5',
      '--json'
    ])
    const request = await provider.nextRequest()
    const invoice = await provider.offer(request, 3000)
    await job.line(/offer from npub1\S+: 3000 msat, score 0/)
    await job.line(/refused an invoice from npub1\S+ \(JOB_LOW_SCORE\): the provider scores 0, below --min-score=1/)
    const summary = await job.json()
    expect(await job.exited, job.stderr()).toBe(5)
    expect(summary).toMatchObject({
      status: 'offer_refused',
      reason: 'OFFER_REFUSED',
      refused_reason: 'JOB_LOW_SCORE',
      provider: null,
      provider_reputation: null,
      msat_paid: 0,
      review: null
    })
    expect(summary.offers).toEqual([
      expect.objectContaining({ provider: provider.npub, amount_msat: 3000, score: 0, refused: 'JOB_LOW_SCORE' })
    ])
    expect(net.balanceMsat('customer')).toBe(before)
    expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
  })

  test('--min-zap-sats asks for it in the request, and an offer from a provider below it is refused (JOB_LOW_ZAPS)', async () => {
    const before = net.balanceMsat('customer')
    const job = spawnBin('job', [
      net.flag,
      '--kind=5050',
      '--input=zapped ones only',
      '--bid=10',
      `--provider=${provider.npub}`,
      '--min-zap-sats=21',
      '--json'
    ])
    const request = await provider.nextRequest()
    expect(request.params).toEqual({ [MIN_ZAP_SATS_PARAM]: '21' })
    // This provider ignores the param and answers anyway: the customer checks it again.
    const invoice = await provider.offer(request, 3000)
    const summary = await job.json()
    expect(await job.exited, job.stderr()).toBe(5)
    expect(job.stderr()).toMatch(/JOB_LOW_ZAPS.*validated zaps total 0 sats, below the 21 sats/)
    expect(summary).toMatchObject({ status: 'offer_refused', refused_reason: 'JOB_LOW_ZAPS', msat_paid: 0 })
    expect(net.balanceMsat('customer')).toBe(before)
    expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
  })
})

describe('--review', () => {
  test('after a paid job from 2020117-agent: a 31117 whose proof holds, for the payment the ledger shows', async () => {
    const agent = spawnBin('agent', [
      net.flag,
      '--no-sessions',
      '--json',
      '--kind=5302',
      `--processor=exec:${translate}`,
      '--job-price=3'
    ])
    const { npub, pubkey } = await agent.json<{ event: string; npub: string; pubkey: string }>(
      (e) => e.event === 'ready'
    )
    const before = net.balanceMsat('customer')
    const job = spawnBin('job', [
      net.flag,
      '--kind=5302',
      '--input=hello world',
      '--param=lang=fr',
      '--bid=10',
      `--provider=${npub}`,
      '--review=5:fast and right',
      '--json'
    ])
    const summary = await job.json()
    expect(await job.exited, job.stderr()).toBe(0)
    expect(summary).toMatchObject({ status: 'delivered', provider: npub, msat_paid: 3000 })
    expect(summary.provider_reputation).toMatchObject({ pubkey, score: expect.any(Number), flagged: false })
    expect(summary.offers).toEqual([expect.objectContaining({ provider: npub, amount_msat: 3000, refused: null })])
    expect(summary.review).toEqual({ event_id: expect.stringMatching(/^[0-9a-f]{64}$/), relays: 1 })
    const [review] = await pool.query({ ids: [summary.review.event_id] })
    expect(review && verifyEvent(review)).toBe(true)
    const tag = (name: string) => review!.tags.find((t) => t[0] === name)?.[1]
    expect(review!.kind).toBe(kinds.Review)
    expect(review!.content).toBe('fast and right')
    expect([tag('d'), tag('e'), tag('p'), tag('rating'), tag('k')]).toEqual([
      summary.request_id,
      summary.request_id,
      pubkey,
      '5',
      '5302'
    ])
    const proof = checkReviewProof({
      id: summary.request_id,
      provider: pubkey,
      author: review!.pubkey,
      bolt11: tag('bolt11')!,
      preimage: tag('preimage')!,
      network: 'regtest'
    })
    expect(proof.amountMsat).toBe(3000)
    expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: proof.paymentHash }).state).toBe('settled')
    expect(before - net.balanceMsat('customer')).toBe(3000)
    agent.kill('SIGINT')
    await agent.exited
  })

  test('a free job is not reviewed: a clear warning, exit 0, review null, no 31117 about the provider', async () => {
    const before = net.balanceMsat('customer')
    const job = spawnBin('job', [
      net.flag,
      '--kind=5050',
      '--input=on the house?',
      '--bid=10',
      '--offer-wait=0',
      '--review=4:free and good',
      '--json'
    ])
    const request = await provider.nextRequest()
    await provider.deliver(request, 'on the house')
    const summary = await job.json()
    expect(await job.exited, job.stderr()).toBe(0)
    expect(summary).toMatchObject({
      status: 'delivered',
      msat_paid: 0,
      result: 'on the house',
      review: null,
      review_skipped: 'REVIEW_FREE_JOB'
    })
    expect(job.stderr()).toMatch(/REVIEW_FREE_JOB: not reviewed: the job was free, so there is no proof of payment/)
    expect(await pool.query({ kinds: [kinds.Review], '#p': [provider.pubkey] })).toEqual([])
    expect(net.balanceMsat('customer')).toBe(before)
  })
})

test('a pricier provider the customer and its follow vouch for is paid over a cheaper stranger, with no flag given', async (ctx) => {
  const dir = await tempDir('job-rep-')
  const me = generateSecretKey()
  const friend = generateSecretKey()
  await writeFile(join(dir, 'keys.json'), JSON.stringify({ me: { privkey: hex(me), pubkey: getPublicKey(me) } }), {
    mode: 0o600
  })
  const trusted = await startProvider(net, 5050)
  const stranger = await startProvider(net, 5050)
  ctx.onTestFinished(() => Promise.all([trusted.close(), stranger.close()]).then(() => undefined))
  const follows = finalizeEvent(
    {
      kind: kinds.Contacts,
      created_at: Math.floor(Date.now() / 1000),
      tags: [['p', getPublicKey(friend)]],
      content: ''
    },
    me
  )
  await net.publishAs(me, follows)
  for (const e of [buildVouch(trusted.pubkey, me), buildVouch(trusted.pubkey, friend)])
    expect(await pool.publish(e)).toBe(1)
  const reader = new ReputationReader({ pool, viewer: getPublicKey(me), network: 'regtest' })
  expect((await reader.rate([trusted.pubkey])).get(trusted.pubkey)?.score).toBe(200)
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    `--keys-file=${join(dir, 'keys.json')}`,
    '--agent=me',
    '--kind=5050',
    '--input=who deserves it',
    '--bid=10',
    '--offer-wait=2',
    '--timeout=30',
    '--json'
  ])
  // These providers read from a few seconds back: an earlier test's request may come first.
  const [forTrusted, forStranger] = await Promise.all([trusted, stranger].map((p) => requestOf(p, 'who deserves it')))
  const cheap = await stranger.offer(forStranger, 4000)
  const dear = await trusted.offer(forTrusted, 6000)
  await trusted.paid(dear)
  await trusted.deliver(forTrusted, 'trusted work')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({ provider: trusted.npub, msat_paid: 6000, result: 'trusted work' })
  expect(summary.provider_reputation.score).toBeGreaterThanOrEqual(100)
  expect(summary.provider_reputation.wot.trusted_by_your_follows).toBeGreaterThanOrEqual(1)
  expect(summary.offers.map((o: { provider: string }) => o.provider)).toEqual([trusted.npub, stranger.npub])
  expect(before - net.balanceMsat('customer')).toBe(6000)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: cheap.paymentHash }).state).not.toBe('settled')
})

test('--min-zap-sats lets a provider with enough validated zaps through: its offer is paid', async (ctx) => {
  const lnurl = net.devnet.lnurl!
  const zapped = await startProvider(net, 5050)
  ctx.onTestFinished(() => zapped.close())
  // The devnet's `provider` account is the Lightning address its profile names (the invoices' account, too).
  const lud16 = `provider@${new URL(lnurl.url).host}`
  const profile = finalizeEvent(
    { kind: 0, created_at: Math.floor(Date.now() / 1000), tags: [], content: JSON.stringify({ lud16 }) },
    zapped.secretKey
  )
  await net.publishAs(zapped.secretKey, profile)
  await net.zap({
    senderSecretKey: generateSecretKey(),
    payer: 'customer',
    recipient: 'provider',
    recipientPubkey: zapped.pubkey,
    sats: 21
  })
  const seen = (await new ReputationReader({ pool, viewer: null, network: 'regtest' }).rate([zapped.pubkey])).get(
    zapped.pubkey
  )
  expect(seen?.zaps.totalSats).toBe(21)
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=zapped enough',
    '--bid=10',
    `--provider=${zapped.npub}`,
    '--min-zap-sats=21',
    '--json'
  ])
  const request = await requestOf(zapped, 'zapped enough')
  expect(request.params).toEqual({ [MIN_ZAP_SATS_PARAM]: '21' })
  const invoice = await zapped.offer(request, 3000)
  await zapped.paid(invoice)
  await zapped.deliver(request, 'zapped work')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({
    status: 'delivered',
    msat_paid: 3000,
    provider_reputation: { zaps: { total_sats: 21 } }
  })
  expect(before - net.balanceMsat('customer')).toBe(3000)
})

async function requestOf(p: TestProvider, input: string): Promise<JobRequest> {
  for (;;) {
    const request = await p.nextRequest()
    if (request.inputs[0]?.data === input) return request
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}
