// --review=RATING[:TEXT]: after a delivered job, a kind 31117 review with its proof of payment
// (SPEC §11.3): the invoice paid and the preimage the wallet returned, which buildReview checks
// before anything is signed. A job that paid nothing has no proof, so it is not reviewed: a review
// anyone could write for free would count for almost nothing. The review never changes how the job
// ended: the work was delivered whatever the relays do with the review.

import { CliError } from '@2020117/cli'
import { NostrError, type RelayPool } from '@2020117/nostr'
import { MAX_REVIEW_TEXT_BYTES, RATING_MAX, RATING_MIN } from '@2020117/protocol'
import { buildReview, isReputationError } from '@2020117/reputation'
import type { NetworkName } from '@2020117/wallet'
import { ReviewSkipped } from './errors.js'
import type { PaymentProof } from './run.js'

export interface ReviewWish {
  rating: number
  text: string
}

export interface Published {
  eventId: string
  /** How many relays took it. */
  relays: number
}

/** The flag's value, checked before the request goes out (a usage error otherwise). */
export function parseReviewFlag(value: string, bin: string): ReviewWish {
  const m = /^(\d+)(?::([\s\S]*))?$/.exec(value)
  const rating = m ? Number(m[1]) : NaN
  if (!m || !(rating >= RATING_MIN && rating <= RATING_MAX))
    throw CliError.INVALID_FLAG('review', `must be RATING[:TEXT] with a rating of ${RATING_MIN} to ${RATING_MAX}`, bin)
  const text = m[2] ?? ''
  const bytes = Buffer.byteLength(text)
  if (bytes > MAX_REVIEW_TEXT_BYTES)
    throw CliError.INVALID_FLAG('review', `text is ${bytes} bytes, over the ${MAX_REVIEW_TEXT_BYTES} byte bound`, bin)
  return { rating, text }
}

export interface ReviewJob {
  provider: string
  requestId: string
  kind: number
  /** Null when nothing was paid (a free job). */
  proof: PaymentProof | null
  network: NetworkName
}

/** Publishes the review; throws ReviewSkipped when there is no proof, it does not hold, or no relay took it. */
export async function publishReview(
  wish: ReviewWish,
  job: ReviewJob,
  r: { pool: RelayPool; secretKey: Uint8Array }
): Promise<Published> {
  if (job.proof === null) throw ReviewSkipped.REVIEW_FREE_JOB()
  let review
  try {
    review = buildReview(
      {
        provider: job.provider,
        id: job.requestId,
        kind: job.kind,
        rating: wish.rating,
        text: wish.text,
        bolt11: job.proof.bolt11,
        preimage: job.proof.preimage,
        network: job.network
      },
      r.secretKey
    )
  } catch (err) {
    if (!isReputationError(err)) throw err
    throw ReviewSkipped.REVIEW_INVALID_PROOF(err.message)
  }
  // Free under the network's policy; a relay that prices reviews gets one mined (a new id).
  let published
  try {
    published = await r.pool.publishWithPow(review)
  } catch (err) {
    if (err instanceof NostrError) throw ReviewSkipped.REVIEW_NOT_PUBLISHED(r.pool.relays)
    throw err
  }
  const { event, accepted } = published
  if (accepted.length === 0) throw ReviewSkipped.REVIEW_NOT_PUBLISHED(r.pool.relays)
  return { eventId: event.id, relays: accepted.length }
}
