// review on the local network with a real payment: the provider's devnet account issues the invoice
// for a job (its description names the request and the provider), the customer's devnet wallet pays
// it (the ledger is the judge), and 2020117-trust review finds that payment in the customer's wallet
// (NIP-47 list_transactions) and publishes a 31117 whose proof checkReviewProof accepts. Without such
// a payment, nothing is published.

import { randomBytes } from 'node:crypto'
import { afterAll, expect, test } from 'vitest'
import { startTestNetwork } from '@2020117/testkit'
import { jobInvoiceDescription, kinds, tickInvoiceDescription } from '@2020117/protocol'
import { npubOf } from '@2020117/nostr'
import { checkReviewProof } from '@2020117/reputation'
import { people, stranger } from './helpers/people.js'

const net = await startTestNetwork({ teardown: afterAll })
const { customer, pool } = await people(net, ['customer'])
const customerNpub = npubOf(customer.pubkey)

/** The provider's devnet account issues `description`'s invoice; the customer's pays it. Judged by the ledger. */
async function paid(description: string, amountMsat = 5000) {
  const before = net.balanceMsat('provider')
  const { invoice } = await net.devnet.wallet.makeInvoice('provider', { amountMsat, description })
  const payment = await net.devnet.wallet.payInvoice('customer', invoice)
  expect(net.balanceMsat('provider') - before).toBe(amountMsat)
  return { invoice, ...payment }
}

async function reviewsBy(pubkey: string, d: string) {
  return pool.query({ kinds: [kinds.Review], authors: [pubkey], '#d': [d] }, 3000)
}

test('a paid job: review finds the payment in the wallet and publishes a 31117 whose proof holds', async () => {
  const provider = stranger()
  const request = await customer.publish({ kind: 5050, tags: [['i', 'a haiku', 'text']], content: '' })
  const payment = await paid(jobInvoiceDescription(request.id, provider.npub, customerNpub))
  const run = customer.trust(['review', provider.npub, '--rating=5', `--job=${request.id}`, '--text=fast', '--json'])
  expect(await run.exited, run.stderr()).toBe(0)
  const out = JSON.parse(run.stdout())
  expect(out).toEqual({
    command: 'review',
    subject: provider.npub,
    job: request.id,
    service_kind: 5050, // read from the request on the relay
    rating: 5,
    payment_hash: payment.paymentHash,
    amount_msat: 5000,
    network: 'regtest',
    event_id: expect.stringMatching(/^[0-9a-f]{64}$/),
    kind: 31117,
    relays_took: 1,
    relays_asked: 1
  })
  const [review] = await reviewsBy(customer.pubkey, request.id)
  expect(review!.id).toBe(out.event_id)
  expect(review!.content).toBe('fast')
  expect(review!.tags).toEqual([
    ['d', request.id],
    ['e', request.id],
    ['p', provider.pubkey],
    ['rating', '5'],
    ['k', '5050'],
    ['bolt11', payment.invoice],
    ['preimage', payment.preimage]
  ])
  const bolt11 = review!.tags.find((t) => t[0] === 'bolt11')![1]!
  const preimage = review!.tags.find((t) => t[0] === 'preimage')![1]!
  const proven = checkReviewProof({
    id: request.id,
    provider: provider.pubkey,
    author: customer.pubkey,
    bolt11,
    preimage,
    network: 'regtest'
  })
  expect(proven).toEqual({ paymentHash: payment.paymentHash, amountMsat: 5000 })
})

test('a paid session tick: review --session finds it, names the session kind (5200 unless --kind), and logs no wallet secret', async () => {
  const provider = stranger()
  const session = randomBytes(16).toString('hex')
  const payment = await paid(tickInvoiceDescription(session, 3, provider.npub, customerNpub), 1000)
  const run = customer.trust(['review', provider.npub, '--rating=2', `--session=${session}`, '--verbose', '--json'])
  expect(await run.exited, run.stderr()).toBe(0)
  const secret = new URL(net.devnet.wallet.account('customer').nwcUri).searchParams.get('secret')!
  expect(secret).toMatch(/^[0-9a-f]{64}$/)
  expect(run.stdout() + run.stderr()).not.toContain(secret) // the wallet's secret never reaches a log
  expect(JSON.parse(run.stdout())).toMatchObject({ session, service_kind: 5200, payment_hash: payment.paymentHash })
  const [review] = await reviewsBy(customer.pubkey, session)
  expect(review!.tags.filter((t) => t[0] === 'e')).toEqual([]) // a session has no event to name
  expect(review!.tags).toContainEqual(['k', '5200'])
})

test('no payment for that job: NO_PAYMENT_FOUND, exit 4, nothing published', async () => {
  const provider = stranger()
  const job = randomBytes(32).toString('hex')
  const run = customer.trust(['review', provider.npub, '--rating=5', `--job=${job}`, '--kind=5050', '--json'])
  expect(await run.exited, run.stderr()).toBe(4)
  const { error } = JSON.parse(run.stdout())
  expect(error.code).toBe('NO_PAYMENT_FOUND')
  expect(error.message).toContain(`paid an invoice naming job ${job} and ${provider.npub}: nothing was published`)
  expect(await reviewsBy(customer.pubkey, job)).toEqual([])
})

test('a payment for the same job to another provider proves nothing about this one', async () => {
  const provider = stranger()
  const job = randomBytes(32).toString('hex')
  await paid(jobInvoiceDescription(job, stranger().npub, customerNpub))
  const run = customer.trust(['review', provider.npub, '--rating=1', `--job=${job}`, '--kind=5050', '--json'])
  expect(await run.exited, run.stderr()).toBe(4)
  expect(JSON.parse(run.stdout()).error.code).toBe('NO_PAYMENT_FOUND')
  expect(await reviewsBy(customer.pubkey, job)).toEqual([])
})

test('--bolt11 with a preimage that is not its own: INVALID_PROOF, exit 4, nothing published', async () => {
  const provider = stranger()
  const job = randomBytes(32).toString('hex')
  const payment = await paid(jobInvoiceDescription(job, provider.npub, customerNpub))
  const args = ['review', provider.npub, '--rating=5', `--job=${job}`, '--kind=5050']
  const run = customer.trust([...args, `--bolt11=${payment.invoice}`, `--preimage=${'0'.repeat(64)}`, '--json'])
  expect(await run.exited, run.stderr()).toBe(4)
  const { error } = JSON.parse(run.stdout())
  expect(error).toEqual({
    code: 'INVALID_PROOF',
    message: expect.stringMatching(/the preimage is not the one of this invoice/)
  })
  expect(await reviewsBy(customer.pubkey, job)).toEqual([])

  // The same invoice with its own preimage, given by hand, is a proof: published.
  const good = customer.trust([...args, `--bolt11=${payment.invoice}`, `--preimage=${payment.preimage}`, '--json'])
  expect(await good.exited, good.stderr()).toBe(0)
  expect(await reviewsBy(customer.pubkey, job)).toHaveLength(1)
})

test('--job without --kind, and no relay has the request: REQUEST_NOT_FOUND, exit 1, nothing published', async () => {
  const provider = stranger()
  const job = randomBytes(32).toString('hex')
  await paid(jobInvoiceDescription(job, provider.npub, customerNpub))
  const run = customer.trust(['review', provider.npub, '--rating=4', `--job=${job}`, '--timeout=3', '--json'])
  expect(await run.exited, run.stderr()).toBe(1)
  const { error } = JSON.parse(run.stdout())
  expect(error.code).toBe('REQUEST_NOT_FOUND')
  expect(error.message).toMatch(/so its kind is unknown: pass --kind$/)
  expect(await reviewsBy(customer.pubkey, job)).toEqual([])
})

// NEEDS the real compute and collect (helpers "core" and "collect"): with today's placeholders
// nothing is read and every term is 0, so this test fails until they land. What it covers: a review
// published by `review` is read back by `show` as verified, a completed job, with its event as evidence.
test('show counts a published review as verified: a completed job, with the review as evidence', async () => {
  const provider = stranger()
  const job = randomBytes(32).toString('hex')
  await paid(jobInvoiceDescription(job, provider.npub, customerNpub))
  const run = customer.trust(['review', provider.npub, '--rating=5', `--job=${job}`, '--kind=5050', '--json'])
  expect(await run.exited, run.stderr()).toBe(0)
  const { event_id } = JSON.parse(run.stdout())
  const show = customer.trust(['show', provider.npub, '--json'])
  expect(await show.exited, show.stderr()).toBe(0)
  const seen = JSON.parse(show.stdout())
  expect(seen.jobs_completed).toBe(1)
  expect(seen.reviews).toMatchObject({ verified: 1, unverified: 0 })
  expect(seen.terms.jobs).toBe(5)
  expect(seen.evidence.reviews_verified).toEqual([event_id])
})
