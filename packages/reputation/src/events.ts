// The reputation events a viewer publishes (SPEC §11): a vouch and its revocation, a report, and a
// review with its proof of payment. Each checks its author's input, so that what is published is
// what every reader will count; a review whose proof does not hold is refused here, not published.

import { finalizeEvent, getPublicKey, type Event } from 'nostr-tools/pure'
import {
  kinds,
  MAX_REPORT_REASON_BYTES,
  MAX_REVIEW_TEXT_BYTES,
  RATING_MAX,
  RATING_MIN,
  REPORT_TYPES,
  TRUST_ASSERTION,
  type ReportType
} from '@2020117/protocol'
import type { NetworkName } from '@2020117/wallet'
import { ReputationError } from './errors.js'
import { checkReviewProof, subjectKind } from './proof.js'

const HEX64 = /^[0-9a-f]{64}$/

export interface ReviewInput {
  provider: string
  /** The job request id or the session id. */
  id: string
  /** The service kind (the job's request kind, or the session's kind). */
  kind: number
  rating: number
  text?: string
  bolt11: string
  preimage: string
  /** The network the proof must be on. */
  network: NetworkName
}

function now(): number {
  return Math.floor(Date.now() / 1000)
}

function subject(pubkey: string): string {
  if (!HEX64.test(pubkey)) throw ReputationError.INVALID_PUBKEY('the subject')
  return pubkey
}

function bounded(what: string, text: string, max: number): string {
  const bytes = Buffer.byteLength(text)
  if (bytes > max) throw ReputationError.TEXT_TOO_LONG(what, bytes, max)
  return text
}

/** The address a vouch for `target` by `author` has: what a revocation names. */
export function vouchAddress(author: string, target: string): string {
  return `${kinds.TrustAssertion}:${author}:${target}`
}

export function buildVouch(target: string, secretKey: Uint8Array, createdAt = now()): Event {
  const p = subject(target)
  const tags = [
    ['d', p],
    ['p', p],
    ['assertion', TRUST_ASSERTION]
  ]
  return finalizeEvent({ kind: kinds.TrustAssertion, created_at: createdAt, tags, content: '' }, secretKey)
}

/** NIP-09: deletes every version of the author's vouch for `target` up to now. */
export function buildRevocation(target: string, secretKey: Uint8Array, createdAt = now()): Event {
  const author = getPublicKey(secretKey)
  const tags = [
    ['a', vouchAddress(author, subject(target))],
    ['k', String(kinds.TrustAssertion)]
  ]
  return finalizeEvent({ kind: kinds.Deletion, created_at: createdAt, tags, content: 'revoked' }, secretKey)
}

export function buildReport(
  target: string,
  type: string,
  reason: string,
  secretKey: Uint8Array,
  createdAt = now()
): Event {
  if (!(REPORT_TYPES as readonly string[]).includes(type)) throw ReputationError.INVALID_REPORT_TYPE(type, REPORT_TYPES)
  const tags = [['p', subject(target), type as ReportType]]
  const content = bounded('report reason', reason, MAX_REPORT_REASON_BYTES)
  return finalizeEvent({ kind: kinds.Report, created_at: createdAt, tags, content }, secretKey)
}

export function buildReview(r: ReviewInput, secretKey: Uint8Array, createdAt = now()): Event {
  const provider = subject(r.provider)
  if (!Number.isInteger(r.rating) || r.rating < RATING_MIN || r.rating > RATING_MAX)
    throw ReputationError.INVALID_RATING(r.rating)
  if (getPublicKey(secretKey) === provider) throw ReputationError.INVALID_PROOF('a provider cannot review itself')
  checkReviewProof({
    id: r.id,
    provider,
    author: getPublicKey(secretKey),
    bolt11: r.bolt11,
    preimage: r.preimage,
    network: r.network
  })
  const tags = [
    ['d', r.id],
    ...(subjectKind(r.id) === 'job' ? [['e', r.id]] : []),
    ['p', provider],
    ['rating', String(r.rating)],
    ['k', String(r.kind)],
    ['bolt11', r.bolt11],
    ['preimage', r.preimage]
  ]
  const content = bounded('review text', r.text ?? '', MAX_REVIEW_TEXT_BYTES)
  return finalizeEvent({ kind: kinds.Review, created_at: createdAt, tags, content }, secretKey)
}
