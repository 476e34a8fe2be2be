// The checks an invoice passes before the customer pays it (SPEC §10.4, with §5.4's rules), for an
// offer (a `payment-required` feedback) and for a pay-after result alike. Every check runs before
// any money moves, in a fixed order, and a refusal names the check that failed: a WalletError code
// for what the session's tick guard also checks, a JOB_* code for what only a job has.
//
// Claiming the payment hash is not here: it is the payer's first step (pay.ts), on disk before
// the wallet is asked to pay, so that a crash in between can never lead to a second payment.

import { decodeInvoice, routeHintFeeMsat, WalletError, type DecodedInvoice, type NetworkName } from '@2020117/wallet'
import { npubOf } from '@2020117/nostr'
import { JobRunError } from './errors.js'
import type { PaidHashes } from './paid.js'

/** Refuse invoices that expire this soon: the payment could not complete in time. */
export const EXPIRY_MARGIN_S = 10

export interface InvoiceTerms {
  /** The most the provider may ask: the bid less the fee reserve. */
  maxAmountMsat: number
  /** The most routing fee the payment may cost (--max-fee). */
  maxFeeMsat: number
  /** The wallet's network: an invoice on another one cannot be ours to pay. */
  network: NetworkName
  /** Payment hashes this identity ever paid (on disk). */
  paid: Pick<PaidHashes, 'has' | 'claim'>
  /** The payee node key each provider's first invoice named, this run. */
  payees: Map<string, string>
  /**
   * With --review: the job the invoice must name, with the customer (hex), so that it can prove the
   * review (SPEC §11.3). Null or absent: any description will do (NIP-90 does not say what it holds).
   */
  provable?: { requestId: string; customer: string } | null
  now?: () => number
}

export interface ApprovedInvoice {
  provider: string
  amountMsat: number
  bolt11: string
  invoice: DecodedInvoice
}

/**
 * Checks the invoice a provider offered (`amountTag` and `bolt11` of its `amount` tag). Returns it
 * approved, or throws the refusal. Checking records the provider's payee on first sight.
 */
export function checkInvoice(
  provider: string,
  amountTag: number | null,
  bolt11: string | null,
  terms: InvoiceTerms
): ApprovedInvoice {
  if (!bolt11) throw JobRunError.JOB_NO_INVOICE()
  const invoice = decodeInvoice(bolt11) // BOLT #11's reader rules and the signature
  if (invoice.network !== terms.network) throw WalletError.INVOICE_NETWORK_MISMATCH(invoice.network, terms.network)
  if (invoice.amountMsat === null || amountTag === null || invoice.amountMsat !== String(amountTag))
    throw JobRunError.JOB_AMOUNT_TAG_MISMATCH(amountTag, invoice.amountMsat)
  if (amountTag > terms.maxAmountMsat) throw JobRunError.JOB_OVER_BID(invoice.amountMsat, terms.maxAmountMsat)
  const now = Math.floor((terms.now ?? Date.now)() / 1000)
  if (invoice.expiresAt - EXPIRY_MARGIN_S <= now) throw WalletError.INVOICE_EXPIRED(invoice.expiresAt)
  if (terms.paid.has(invoice.paymentHash)) throw WalletError.INVOICE_HASH_REUSED(invoice.paymentHash)
  if (terms.provable) checkProvable(provider, invoice, terms.provable)
  const payee = terms.payees.get(provider)
  if (payee === undefined) terms.payees.set(provider, invoice.payeeNodeKey)
  else if (payee !== invoice.payeeNodeKey) throw WalletError.INVOICE_PAYEE_CHANGED(invoice.payeeNodeKey, payee)
  const fee = routeHintFeeMsat(invoice, amountTag)
  if (fee > terms.maxFeeMsat) throw WalletError.FEE_TOO_HIGH(fee, terms.maxFeeMsat, false)
  return { provider, amountMsat: amountTag, bolt11, invoice }
}

/**
 * The words checkReviewProof of @2020117/reputation looks for in the description (the request id,
 * the provider's npub, the customer's npub, each a whole word): an invoice without them would be
 * paid for a review that could never be published with its proof.
 */
function checkProvable(provider: string, invoice: DecodedInvoice, job: { requestId: string; customer: string }): void {
  const words = (invoice.description ?? '').split(/\s+/)
  const missing = [
    words.includes(job.requestId) ? null : 'the request id',
    words.includes(npubOf(provider)) ? null : "the provider's npub",
    words.includes(npubOf(job.customer)) ? null : 'your npub'
  ].filter((m): m is string => m !== null)
  if (missing.length > 0) throw JobRunError.JOB_INVOICE_NOT_PROVABLE(missing.join(', '))
}

/** The code a refusal is reported with (the wallet's or the job's), or null for an unexpected failure. */
export function refusalCode(err: unknown): string | null {
  if (err instanceof JobRunError || err instanceof WalletError) return err.code
  return null
}
