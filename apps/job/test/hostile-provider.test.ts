// Providers that lie, against the real 2020117-job (issue 12 §4). Every invoice here is one the
// devnet wallet would pay, so a check of the customer's, not the wallet, is what stops each one;
// and by the ledger, none of them costs a msat beyond one honest price.

import { createHash, randomBytes } from 'node:crypto'
import bolt11 from 'bolt11'
import { afterAll, expect, test } from 'vitest'
import { jobInvoiceDescription, jobResultKind } from '@2020117/protocol'
import { buildFeedback, buildResult } from '@2020117/jobs'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { npubOf } from '@2020117/nostr'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { signed, startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5050, { teardown: afterAll })

/** The customer, asking only our provider: its refusals end the run at once. */
function buy(extra: string[] = []) {
  return spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=ping',
    '--bid=10',
    `--provider=${provider.npub}`,
    '--timeout=30',
    '--json',
    ...extra
  ])
}

function ledger(): () => { customer: number; provider: number } {
  const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
  return () => ({
    customer: before.customer - net.balanceMsat('customer'),
    provider: net.balanceMsat('provider') - before.provider
  })
}

test('an invoice above the bid is not paid: no offer within the bid (exit 3)', async () => {
  const moved = ledger()
  const job = buy()
  const request = await provider.nextRequest()
  await provider.offer(request, 12_000) // the bid is 10 sats, 9 of them for the provider
  const summary = await job.json()
  expect(await job.exited).toBe(3)
  expect(summary).toMatchObject({ status: 'no_offer', msat_paid: 0, reason: 'NO_OFFER' })
  expect(moved()).toEqual({ customer: 0, provider: 0 })
})

test('an amount tag that disagrees with the bolt11 is refused (exit 5), whichever is lower', async () => {
  for (const [invoiceMsat, tagMsat] of [
    [9000, 3000],
    [3000, 9000]
  ] as const) {
    const moved = ledger()
    const job = buy()
    const request = await provider.nextRequest()
    const invoice = await provider.invoice(invoiceMsat)
    await provider.offer(request, invoiceMsat, { invoice, tagMsat })
    const summary = await job.json()
    expect(await job.exited).toBe(5)
    expect(summary).toMatchObject({ status: 'offer_refused', msat_paid: 0, refused_reason: 'JOB_AMOUNT_TAG_MISMATCH' })
    expect(moved()).toEqual({ customer: 0, provider: 0 })
  }
})

test('two invoices for one job, both before paying: the first is paid, once', async () => {
  const moved = ledger()
  const job = buy()
  const request = await provider.nextRequest()
  const first = await provider.offer(request, 5000)
  const second = await provider.offer(request, 4000)
  await provider.paid(first)
  await provider.deliver(request, 'pong')
  const summary = await job.json()
  expect(await job.exited).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', msat_paid: 5000, result: 'pong' })
  expect(moved()).toEqual({ customer: 5000, provider: 5000 })
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: second.paymentHash }).state).not.toBe('settled')
})

test('a result that also names a request we never posted is ignored; the real one counts', async () => {
  const moved = ledger()
  const job = buy()
  const request = await provider.nextRequest()
  const other = 'ab'.repeat(32)
  const tags = [
    ['e', other],
    ['e', request.id],
    ['p', request.customer]
  ]
  await provider.publish(signed(provider.secretKey, jobResultKind(5050), tags, 'not yours'))
  const invoice = await provider.offer(request, 4000)
  await provider.paid(invoice)
  await provider.publish(signed(provider.secretKey, jobResultKind(5050), tags, 'still not yours'))
  await provider.deliver(request, 'yours')
  const summary = await job.json()
  expect(await job.exited).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', msat_paid: 4000, result: 'yours' })
  expect(moved()).toEqual({ customer: 4000, provider: 4000 })
})

test('a result signed by someone other than the paid provider is ignored, before and after paying', async () => {
  const moved = ledger()
  const job = buy()
  const request = await provider.nextRequest()
  const stranger = generateSecretKey()
  await provider.publish(buildResult(request, { content: 'forged, free' }, stranger))
  const invoice = await provider.offer(request, 4000)
  await provider.paid(invoice)
  await provider.publish(buildResult(request, { content: 'forged, after' }, stranger))
  await provider.deliver(request, 'genuine')
  const summary = await job.json()
  expect(await job.exited).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', result: 'genuine', provider: provider.npub })
  expect(moved()).toEqual({ customer: 4000, provider: 4000 })
})

test('feedback that names the provider but is signed by another key is never paid', async () => {
  const moved = ledger()
  const job = buy()
  const request = await provider.nextRequest()
  // A payable invoice, in a feedback signed by a stranger that even tags the provider.
  const bait = await provider.invoice(2000)
  const impostor = generateSecretKey()
  const forged = buildFeedback(request, { status: 'payment-required', amountMsat: 2000, bolt11: bait.bolt11 }, impostor)
  await provider.publish(forged)
  await provider.publish(
    signed(impostor, 7000, [
      ['status', 'payment-required'],
      ['e', request.id],
      ['p', request.customer],
      ['p', provider.pubkey],
      ['amount', '2000', bait.bolt11]
    ])
  )
  const invoice = await provider.offer(request, 4000)
  await provider.paid(invoice)
  await provider.deliver(request, 'done')
  const summary = await job.json()
  expect(await job.exited).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', msat_paid: 4000 })
  expect(moved()).toEqual({ customer: 4000, provider: 4000 })
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: bait.paymentHash }).state).not.toBe('settled')
})

test('a payment hash paid in one job is refused when a second job offers it again (kept on disk)', async () => {
  const moved = ledger()
  const first = buy(['--agent=replay'])
  const request1 = await provider.nextRequest()
  const invoice = await provider.offer(request1, 4000)
  await provider.paid(invoice)
  await provider.deliver(request1, 'one')
  expect(await first.exited).toBe(0)

  const second = buy(['--agent=replay'])
  const request2 = await provider.nextRequest()
  expect(request2.customer).toBe(request1.customer)
  await provider.offer(request2, 4000, { invoice })
  const summary = await second.json()
  expect(await second.exited).toBe(5)
  expect(summary).toMatchObject({ status: 'offer_refused', msat_paid: 0, refused_reason: 'INVOICE_HASH_REUSED' })
  expect(moved()).toEqual({ customer: 4000, provider: 4000 })
})

test('an invoice that expires within the safety margin is refused (exit 5), though the wallet would pay it', async () => {
  const moved = ledger()
  const job = buy()
  const request = await provider.nextRequest()
  const invoice = await provider.invoice(4000, 3)
  await provider.offer(request, 4000, { invoice })
  const summary = await job.json()
  expect(await job.exited).toBe(5)
  expect(summary).toMatchObject({ status: 'offer_refused', msat_paid: 0, refused_reason: 'INVOICE_EXPIRED' })
  expect(moved()).toEqual({ customer: 0, provider: 0 })
})

test('an invoice on another network than the wallet is refused', async () => {
  const moved = ledger()
  const job = buy()
  const request = await provider.nextRequest()
  const wrong = testnetInvoice(4000)
  await provider.offer(request, 4000, { invoice: wrong })
  const summary = await job.json()
  expect(await job.exited).toBe(5)
  expect(summary.refused_reason).toBe('INVOICE_NETWORK_MISMATCH')
  expect(moved()).toEqual({ customer: 0, provider: 0 })
})

/** A valid, signed testnet invoice: what a provider on the wrong network would send. */
function testnetInvoice(amountMsat: number): { bolt11: string; paymentHash: string } {
  const paymentHash = createHash('sha256').update(randomBytes(32)).digest('hex')
  const encoded = bolt11.encode({
    network: { bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
    millisatoshis: String(amountMsat),
    timestamp: Math.floor(Date.now() / 1000),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'description', data: 'wrong network' },
      { tagName: 'expire_time', data: 600 }
    ]
  })
  return { bolt11: bolt11.sign(encoded, randomBytes(32).toString('hex')).paymentRequest as string, paymentHash }
}

test('with --review, an invoice that could not prove the review is refused unpaid (JOB_INVOICE_NOT_PROVABLE)', async () => {
  const stranger = npubOf(getPublicKey(generateSecretKey()))
  const descriptions = [
    (_id: string) => 'test job', // names nothing: an NDK provider's, say
    (id: string) => jobInvoiceDescription(id, provider.npub, stranger), // another customer's
    (id: string) => jobInvoiceDescription(`${id}x`, provider.npub, stranger) // not as whole words
  ]
  for (const describe of descriptions) {
    const moved = ledger()
    const job = buy(['--review=5:fast'])
    const request = await provider.nextRequest()
    await provider.offer(request, 4000, { invoice: await provider.invoice(4000, 600, describe(request.id)) })
    const summary = await job.json()
    expect(await job.exited, job.stderr()).toBe(5)
    expect(summary).toMatchObject({ status: 'offer_refused', msat_paid: 0, refused_reason: 'JOB_INVOICE_NOT_PROVABLE' })
    expect(summary.message).toMatch(/the review could not be verified.*Drop --review to buy anyway/)
    expect(moved()).toEqual({ customer: 0, provider: 0 })
  }
})

test('with --review, an invoice naming the request, the provider and the customer is paid and reviewed', async () => {
  const moved = ledger()
  const job = buy(['--review=5:fast'])
  const request = await provider.nextRequest()
  const description = jobInvoiceDescription(request.id, provider.npub, npubOf(request.customer))
  const invoice = await provider.invoice(4000, 600, description)
  await provider.offer(request, 4000, { invoice })
  await provider.paid(invoice)
  await provider.deliver(request, 'provable')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', msat_paid: 4000, review: { relays: 1 } })
  expect(moved()).toEqual({ customer: 4000, provider: 4000 })
})

test('without --review, an invoice that names nothing is paid as before (other NIP-90 providers)', async () => {
  const moved = ledger()
  const job = buy()
  const request = await provider.nextRequest()
  const invoice = await provider.offer(request, 4000) // described `test job`
  await provider.paid(invoice)
  await provider.deliver(request, 'no review, no proof needed')
  expect(await job.exited, job.stderr()).toBe(0)
  expect(moved()).toEqual({ customer: 4000, provider: 4000 })
})
