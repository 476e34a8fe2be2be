// Reviewing the provider of this session (SPEC §11.3): a kind 31117 whose proof of payment is the
// last paid tick's invoice and preimage, which only the customer who paid holds. buildReview checks
// the proof before anything is signed, so nothing is published that a reader would not count. The
// event carries the invoice, the preimage (public once paid) and the rating, never a secret.

import { CliError, holdsSecret, type Logger } from '@2020117/cli'
import { NostrError, RelayPool } from '@2020117/nostr'
import { PAYMENT_FREE, RATING_MAX, RATING_MIN } from '@2020117/protocol'
import { buildReview } from '@2020117/reputation'
import type { NetworkName } from '@2020117/wallet'
import type { CustomerSession } from './customer.js'
import { SessionCliError } from './errors.js'

export interface ReviewWish {
  rating: number
  text: string
}

export interface Published {
  event_id: string
  /** How many relays accepted it (0: none did; it is not an error, relays come and go). */
  relays: number
}

export interface ReviewContext {
  relays: string[]
  /** The customer's Nostr secret key: it signs the review and goes nowhere else. */
  secretKey: Uint8Array
  network: NetworkName
  log: Logger
  /** Every form of the customer's secrets: a text that holds one is never published. */
  secrets: readonly string[]
}

/** `RATING[:TEXT]`, as --review takes it. */
export function parseReviewFlag(value: string, bin: string): ReviewWish {
  const m = /^([0-9]+)(?::([\s\S]*))?$/.exec(value.trim())
  const rating = m ? Number(m[1]) : NaN
  if (!m || rating < RATING_MIN || rating > RATING_MAX)
    throw CliError.INVALID_FLAG('review', `must be RATING[:TEXT], the rating ${RATING_MIN} to ${RATING_MAX}`, bin)
  return { rating, text: (m[2] ?? '').trim() }
}

/** A review text is published for anyone to read: one that holds a secret is refused. */
export function refuseSecrets(text: string, secrets: readonly string[]): void {
  if (holdsSecret(text, secrets)) throw SessionCliError.REVIEW_HOLDS_SECRET()
}

/** Publishes the review of `session`'s provider, or throws why it cannot (nothing is published then). */
export async function publishReview(
  session: CustomerSession,
  wish: ReviewWish,
  ctx: ReviewContext
): Promise<Published> {
  const { offer } = session
  const paid = session.paidTick()
  if (!paid) throw SessionCliError.REVIEW_NOT_PAID(offer.paymentMethod === PAYMENT_FREE)
  if (!offer.pubkey) throw SessionCliError.REVIEW_NO_PROVIDER_KEY()
  if (ctx.relays.length === 0) throw NostrError.NO_RELAYS('publishing a review (--review)')
  refuseSecrets(wish.text, ctx.secrets)
  const event = buildReview(
    {
      provider: offer.pubkey,
      id: paid.sessionId,
      kind: offer.kind,
      rating: wish.rating,
      text: wish.text,
      bolt11: paid.bolt11,
      preimage: paid.preimage,
      network: ctx.network
    },
    ctx.secretKey
  )
  // Our key answers NIP-42 challenges; a relay that prices reviews (free by default) gets one mined.
  const pool = new RelayPool(ctx.relays, { secretKey: ctx.secretKey, log: ctx.log })
  try {
    const { event: published, accepted } = await pool.publishWithPow(event)
    const relays = accepted.length
    if (relays === 0) ctx.log.warn(`no relay accepted the review ${published.id}: try again later`)
    else
      ctx.log.info(
        `review of ${wish.rating}/5 (tick ${paid.seq} as proof) published on ${relays} relay(s): ${published.id}`
      )
    return { event_id: published.id, relays }
  } catch (err) {
    if (!(err instanceof NostrError)) throw err
    ctx.log.warn(`the review was not published: ${err.message}`)
    return { event_id: event.id, relays: 0 }
  } finally {
    pool.close()
  }
}
