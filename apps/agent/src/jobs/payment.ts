// Pay first (SPEC §10.3): the job's invoice is made by the provider's wallet, and the payment
// counts only when the wallet's lookup_invoice says it settled and its preimage hashes to the
// invoice's payment hash, and then only once: the hash is claimed in the credited record (the one
// the sessions use), across restarts. No customer message can make a job count as paid.
//
// Invariants:
// - The wait ends at the invoice's expiry or at a cancellation; either ends with one more lookup,
//   so a payment that raced the end is still seen (and the job delivered) rather than kept unworked.
// - A wallet that fails or does not answer is asked again with backoff; an outage is not a refusal.

import { createHash } from 'node:crypto'
import type { ClaimRecord } from '@2020117/files'
import { decodeInvoice, type NwcWallet } from '@2020117/wallet'

export interface JobInvoice {
  bolt11: string
  paymentHash: string
  /** Unix seconds. */
  expiresAt: number
}

/** What job mode needs of a wallet: make invoices, and look them up with their preimage. */
export interface JobWallet {
  makeInvoice(amountMsat: number, description: string, expirySecs: number): Promise<JobInvoice>
  lookup(paymentHash: string): Promise<{ settled: boolean; preimage: string | null }>
}

export function nwcJobWallet(wallet: NwcWallet): JobWallet {
  return {
    async makeInvoice(amountMsat, description, expirySecs) {
      const made = await wallet.makeInvoice(amountMsat, description, expirySecs)
      return { bolt11: made.invoice, paymentHash: made.paymentHash, expiresAt: decodeInvoice(made.invoice).expiresAt }
    },
    lookup: (paymentHash) => wallet.lookup(paymentHash)
  }
}

/**
 * An invoice for a job: refused when its payment hash was credited before, or is another job's
 * (a wallet or LNURL server that hands one invoice out twice): its preimage proves one payment.
 */
export async function freshInvoice(
  wallet: JobWallet,
  credited: ClaimRecord,
  inUse: (paymentHash: string) => boolean,
  make: Parameters<JobWallet['makeInvoice']>,
  signal: AbortSignal
): Promise<JobInvoice> {
  const invoice = await makeWithRetry(wallet, make, signal)
  if (credited.has(invoice.paymentHash) || inUse(invoice.paymentHash))
    throw new Error(`the wallet handed out an invoice it had made before (${invoice.paymentHash.slice(0, 16)}…)`)
  return invoice
}

/**
 * A wallet outage is not a failure (SPEC §5.3): make_invoice is asked again with backoff (0.25 s
 * doubling to 5 s) for as long as the job would wait for its payment, then the last error stands.
 */
async function makeWithRetry(
  wallet: JobWallet,
  make: Parameters<JobWallet['makeInvoice']>,
  signal: AbortSignal
): Promise<JobInvoice> {
  const until = Date.now() + make[2] * 1000
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await wallet.makeInvoice(...make)
    } catch (err) {
      if (signal.aborted || Date.now() + delay >= until) throw err
    }
    await sleep(delay, signal)
  }
}

export type PaymentOutcome = { paid: true } | { paid: false; cancelled: boolean; why: string }

/** Lookups of an unpaid invoice: 0.25 s, doubling, at most 2 s apart. */
const FIRST_POLL_MS = 250
const MAX_POLL_MS = 2000

/** Waits until `invoice` is paid and verified, expires, or `signal` aborts (a cancellation, a shutdown). */
export async function awaitPayment(
  wallet: JobWallet,
  invoice: JobInvoice,
  credited: ClaimRecord,
  signal: AbortSignal
): Promise<PaymentOutcome> {
  let last = 'the invoice was not paid'
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
    const ending = signal.aborted || Date.now() >= invoice.expiresAt * 1000
    const check = await verifiedPayment(wallet, invoice, credited)
    if (check === true) return { paid: true }
    if (check !== null) last = check
    if (ending) return { paid: false, cancelled: signal.aborted, why: last }
    await sleep(Math.min(delay, Math.max(0, invoice.expiresAt * 1000 - Date.now())), signal)
  }
}

/** True once paid, verified and claimed; else why not (a string), or null while it is merely unpaid. */
async function verifiedPayment(
  wallet: JobWallet,
  invoice: JobInvoice,
  credited: ClaimRecord
): Promise<true | string | null> {
  let state: { settled: boolean; preimage: string | null }
  try {
    state = await wallet.lookup(invoice.paymentHash)
  } catch {
    return 'the wallet could not be asked whether the invoice was paid'
  }
  if (!state.settled) return null
  if (!state.preimage || !preimageOf(state.preimage, invoice.paymentHash))
    return 'the wallet says settled, but its preimage does not hash to the payment hash'
  // Already claimed means claimed by this job before a restart: an invoice whose hash was in the
  // record is never shown (freshInvoice), so no other job or session can have claimed it.
  await credited.claim(invoice.paymentHash, invoice.expiresAt + 24 * 3600)
  return true
}

function preimageOf(preimageHex: string, paymentHash: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(preimageHex)) return false
  return createHash('sha256').update(Buffer.from(preimageHex, 'hex')).digest('hex') === paymentHash.toLowerCase()
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
