// A review's proof of payment (SPEC §11.3): the invoice the provider issued for that job or session,
// naming the customer, and the preimage only a payment reveals. Checked the same way before publishing a review (so
// nobody publishes one that will not count) and when reading one (so nobody's forged one counts).

import { createHash } from 'node:crypto'
import { decodeInvoice, type NetworkName } from '@2020117/wallet'
import { npubOf } from '@2020117/nostr'
import { ReputationError } from './errors.js'

const HEX64 = /^[0-9a-f]{64}$/
const SESSION_ID = /^[0-9a-f]{32}$/
/** A BOLT #11 invoice is at most a few thousand characters; a longer tag is no invoice. */
export const MAX_PROOF_BOLT11_CHARS = 7089

export interface ReviewProof {
  /** The job request id (64 hex) or the session id (32 hex) the review is about. */
  id: string
  /** The provider's hex pubkey. */
  provider: string
  /** The review's author (hex): the invoice must name it as the customer who paid. */
  author: string
  bolt11: string
  /** 64 hex. */
  preimage: string
  network: NetworkName
}

export interface ProvenPayment {
  paymentHash: string
  amountMsat: number
}

/** Whether `id` is a job request id or a session id. */
export function subjectKind(id: string): 'job' | 'session' | null {
  return HEX64.test(id) ? 'job' : SESSION_ID.test(id) ? 'session' : null
}

/** Throws INVALID_PROOF with the check that failed, or returns what the payment proves. */
export function checkReviewProof(p: ReviewProof): ProvenPayment {
  if (subjectKind(p.id) === null) throw ReputationError.INVALID_SUBJECT_ID(p.id)
  if (!HEX64.test(p.provider)) throw ReputationError.INVALID_PUBKEY('the provider')
  if (!HEX64.test(p.author)) throw ReputationError.INVALID_PUBKEY('the author')
  if (typeof p.bolt11 !== 'string' || p.bolt11.length > MAX_PROOF_BOLT11_CHARS)
    throw ReputationError.INVALID_PROOF('no invoice of a possible length')
  let invoice
  try {
    invoice = decodeInvoice(p.bolt11) // BOLT #11's reader rules, and the signature
  } catch (err) {
    throw ReputationError.INVALID_PROOF(`the invoice does not decode: ${(err as Error).message}`)
  }
  if (invoice.network !== p.network)
    throw ReputationError.INVALID_PROOF(`the invoice is on ${invoice.network}, not ${p.network}`)
  const words = (invoice.description ?? '').split(/\s+/)
  if (!words.includes(p.id)) throw ReputationError.INVALID_PROOF('the invoice does not name this job or session')
  if (!words.includes(npubOf(p.provider)))
    throw ReputationError.INVALID_PROOF('the invoice does not name this provider')
  // Only the customer the invoice names can turn it into a review: a copy of someone else's proof
  // (published with their review) proves nothing for its copier, however it is dated.
  if (!words.includes(npubOf(p.author)))
    throw ReputationError.INVALID_PROOF("the invoice does not name the review's author as the customer who paid")
  if (!HEX64.test(p.preimage)) throw ReputationError.INVALID_PROOF('the preimage is not 64 hex characters')
  if (createHash('sha256').update(Buffer.from(p.preimage, 'hex')).digest('hex') !== invoice.paymentHash)
    throw ReputationError.INVALID_PROOF('the preimage is not the one of this invoice')
  const amount = Number(invoice.amountMsat ?? 0)
  if (!(amount > 0)) throw ReputationError.INVALID_PROOF('the invoice has no amount')
  return { paymentHash: invoice.paymentHash, amountMsat: amount }
}
