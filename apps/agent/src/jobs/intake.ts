// Which requests the provider takes (SPEC §10.3), in the order the issue fixes: addressed to us
// or broadcast, then verified and decrypted, then not expired, then a min_zap_sats that is a number,
// then an output an encrypted answer can carry, then the bid. The capacity comes after (service.ts), since only the service knows what
// is in flight.
//
// Invariant: only a request addressed to this provider is ever answered with a refusal; a broadcast
// request we do not take is left alone, so that no one can make us spam a relay.

import { isExpired, isJobError, parseRequest, type JobRequest } from '@2020117/jobs'
import { MIN_ZAP_SATS_PARAM } from '@2020117/protocol'
import { verifyEvent, type Event } from 'nostr-tools/pure'
import { JobFailure } from './errors.js'
import { minZapSatsOf } from './zap-total.js'

export interface IntakeTerms {
  /** Our hex pubkey, and the key that decrypts requests encrypted to us. */
  pubkey: string
  secretKey: Uint8Array
  /** Price per kind, in msat (0 under --free). */
  priceMsat(kind: number): number
  /** Whether this kind's output is an image: a blob, which an encrypted answer cannot be. */
  imageOutput(kind: number): boolean
}

/**
 * A request dated further ahead than this is left alone: its handled record is kept two days from
 * when it was handled, and a relay would hand a request from the future out again after that.
 */
export const MAX_FUTURE_SECS = 15 * 60

export type Decision =
  | { act: 'ignore'; why: string }
  | { act: 'refuse'; failure: JobFailure; request: JobRequest }
  | { act: 'accept'; request: JobRequest; priceMsat: number; addressed: boolean }

export function decide(event: Event, terms: IntakeTerms, nowSecs = Math.floor(Date.now() / 1000)): Decision {
  const providers = event.tags.filter((t) => t[0] === 'p').map((t) => t[1])
  const addressed = providers.includes(terms.pubkey)
  if (providers.length > 0 && !addressed) return { act: 'ignore', why: 'addressed to other providers' }
  if (event.created_at > nowSecs + MAX_FUTURE_SECS) return { act: 'ignore', why: 'dated in the future' }
  let request: JobRequest
  try {
    request = parseRequest(event, { secretKey: terms.secretKey })
  } catch (err) {
    if (!addressed || !isJobError(err) || !signed(event)) return { act: 'ignore', why: 'not a valid request' }
    return { act: 'refuse', failure: refusalOf(err.code), request: stubOf(event) }
  }
  if (isExpired(request, nowSecs)) return { act: 'ignore', why: 'expired' }
  // A threshold that is no number is a malformed request, refused as one that does not parse.
  if (minZapSatsOf(request) === 'invalid') {
    if (!addressed) return { act: 'ignore', why: 'not a valid request' }
    const failure = JobFailure.INPUT_INVALID(`${MIN_ZAP_SATS_PARAM} must be a whole number of sats`)
    return { act: 'refuse', failure, request }
  }
  // Known before the invoice, so refused before it: paid and then undeliverable would cost the
  // customer its sats (an encrypted request has one `p`: it is addressed to us).
  if (request.encryption !== null && terms.imageOutput(request.kind))
    return { act: 'refuse', failure: JobFailure.ENCRYPTED_IMAGE(request.kind), request }
  const priceMsat = terms.priceMsat(request.kind)
  if (request.bidMsat !== null && request.bidMsat < priceMsat) {
    if (!addressed) return { act: 'ignore', why: 'bid below the price' }
    return { act: 'refuse', failure: JobFailure.BID_TOO_LOW(request.bidMsat, priceMsat), request }
  }
  return { act: 'accept', request, priceMsat, addressed }
}

/** A refusal goes only to the signed author of what it refuses. */
function signed(event: Event): boolean {
  const { id, pubkey, created_at, kind, tags, content, sig } = event
  try {
    return verifyEvent({ id, pubkey, created_at, kind, tags, content, sig })
  } catch {
    return false
  }
}

function refusalOf(code: string): JobFailure {
  if (code === 'UNDECRYPTABLE') return JobFailure.UNDECRYPTABLE()
  if (code === 'LIMIT_EXCEEDED') return JobFailure.INPUT_TOO_LARGE('the request is over the bounds of SPEC §10.2')
  return JobFailure.INPUT_INVALID('the request is not a valid NIP-90 request')
}

/**
 * What a refusal of a request that did not parse is addressed with: its id, kind and author, which
 * the relay's signature check already vouched for. It is answered in plaintext (the refusal quotes
 * nothing of it), on our relays only: a request we could not read names no relays we trust.
 */
function stubOf(event: Event): JobRequest {
  return {
    id: event.id,
    kind: event.kind,
    customer: event.pubkey,
    createdAt: event.created_at,
    inputs: [],
    params: {},
    bidMsat: null,
    relays: [],
    providers: [],
    output: null,
    expiration: null,
    encryption: null,
    event
  }
}
