// Pay first on its own (src/jobs/payment.ts): what counts as a job's payment. A wallet the test
// controls says settled or not, with the right preimage or a fake one; the credited record is the
// one the sessions use. Nothing a customer can say makes a job count as paid.

import { createHash, randomBytes } from 'node:crypto'
import { expect, test } from 'vitest'
import { ClaimRecord } from '@2020117/files'
import { awaitPayment, freshInvoice, type JobInvoice, type JobWallet } from '../src/jobs/payment.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

function wallet(
  answer: (hash: string) => { settled: boolean; preimage: string | null }
): JobWallet & { made: JobInvoice[] } {
  const made: JobInvoice[] = []
  return {
    made,
    async makeInvoice() {
      const preimage = randomBytes(32)
      const invoice = {
        bolt11: 'lnbcrt1fake',
        paymentHash: sha(preimage),
        expiresAt: Math.floor(Date.now() / 1000) + 2
      }
      made.push(invoice)
      return invoice
    },
    lookup: async (hash) => answer(hash)
  }
}

const never = new AbortController().signal

test('settled with a preimage that hashes to the payment hash: paid, and the hash is claimed once', async () => {
  const preimage = randomBytes(32)
  const invoice = { bolt11: 'x', paymentHash: sha(preimage), expiresAt: Math.floor(Date.now() / 1000) + 60 }
  const credited = ClaimRecord.memory()
  const w = wallet(() => ({ settled: true, preimage: preimage.toString('hex') }))
  expect(await awaitPayment(w, invoice, credited, never)).toEqual({ paid: true })
  expect(credited.has(invoice.paymentHash)).toBe(true)
})

test('a wallet that says settled with a fake preimage is not a payment: the wait ends unpaid at the expiry', async () => {
  const invoice = { bolt11: 'x', paymentHash: sha(randomBytes(32)), expiresAt: Math.floor(Date.now() / 1000) + 1 }
  const credited = ClaimRecord.memory()
  const w = wallet(() => ({ settled: true, preimage: randomBytes(32).toString('hex') }))
  const outcome = await awaitPayment(w, invoice, credited, never)
  expect(outcome).toMatchObject({ paid: false, cancelled: false })
  expect(outcome.paid === false && outcome.why).toMatch(/preimage does not hash/)
  expect(credited.has(invoice.paymentHash)).toBe(false)
})

test('a payment that never settles, and a wallet that fails every lookup: unpaid at the expiry, never an exception', async () => {
  const invoice = { bolt11: 'x', paymentHash: sha(randomBytes(32)), expiresAt: Math.floor(Date.now() / 1000) + 1 }
  expect(
    await awaitPayment(
      wallet(() => ({ settled: false, preimage: null })),
      invoice,
      ClaimRecord.memory(),
      never
    )
  ).toMatchObject({ paid: false })
  const failing: JobWallet = { makeInvoice: async () => invoice, lookup: async () => Promise.reject(new Error('down')) }
  expect(await awaitPayment(failing, invoice, ClaimRecord.memory(), never)).toMatchObject({ paid: false })
})

test('a cancellation ends the wait, after one last lookup that still sees a payment that raced it', async () => {
  const preimage = randomBytes(32)
  const invoice = { bolt11: 'x', paymentHash: sha(preimage), expiresAt: Math.floor(Date.now() / 1000) + 60 }
  const cancel = new AbortController()
  let settled = false
  const w = wallet(() => ({ settled, preimage: settled ? preimage.toString('hex') : null }))
  const waiting = awaitPayment(w, invoice, ClaimRecord.memory(), cancel.signal)
  settled = true
  cancel.abort()
  expect(await waiting).toEqual({ paid: true })
  const unpaid = awaitPayment(
    wallet(() => ({ settled: false, preimage: null })),
    invoice,
    ClaimRecord.memory(),
    AbortSignal.abort()
  )
  expect(await unpaid).toMatchObject({ paid: false, cancelled: true })
})

test('an invoice whose hash was credited before, or is another job in flight, is never shown', async () => {
  const credited = ClaimRecord.memory()
  const replaying: JobWallet = {
    makeInvoice: async () => ({
      bolt11: 'x',
      paymentHash: 'a'.repeat(64),
      expiresAt: Math.floor(Date.now() / 1000) + 60
    }),
    lookup: async () => ({ settled: false, preimage: null })
  }
  await credited.claim('a'.repeat(64), Math.floor(Date.now() / 1000) + 60)
  await expect(freshInvoice(replaying, credited, () => false, [1000, 'job', 1], never)).rejects.toThrow(/made before/)
  await expect(freshInvoice(replaying, ClaimRecord.memory(), () => true, [1000, 'job', 1], never)).rejects.toThrow(
    /made before/
  )
})
