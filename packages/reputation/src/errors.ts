// Why a reputation event could not be written. Reading never throws on a stranger's event: a signal
// that fails a check counts as nothing (compute.ts), and these codes are for the author's own input.

export type ReputationErrorCode =
  /** A pubkey that is not 64 lowercase hex (or an npub that does not decode). */
  | 'INVALID_PUBKEY'
  /** A rating outside RATING_MIN..RATING_MAX, or not a whole number. */
  | 'INVALID_RATING'
  /** A report type outside REPORT_TYPES. */
  | 'INVALID_REPORT_TYPE'
  /** A review text or report reason over its bound. */
  | 'TEXT_TOO_LONG'
  /** A review's proof of payment that does not hold: its author would publish a review nobody counts. */
  | 'INVALID_PROOF'
  /** A job or session id that is not 64 (job) or 32 (session) lowercase hex. */
  | 'INVALID_SUBJECT_ID'

export class ReputationError extends Error {
  readonly code: ReputationErrorCode

  constructor(code: ReputationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ReputationError'
    this.code = code
  }

  static INVALID_PUBKEY(what: string): ReputationError {
    return new ReputationError('INVALID_PUBKEY', `${what} is not a Nostr public key: give an npub or 64 hex characters`)
  }
  static INVALID_RATING(rating: unknown): ReputationError {
    return new ReputationError(
      'INVALID_RATING',
      `the rating ${String(rating).slice(0, 16)} is not a whole number from 1 to 5`
    )
  }
  static INVALID_REPORT_TYPE(type: string, allowed: readonly string[]): ReputationError {
    return new ReputationError(
      'INVALID_REPORT_TYPE',
      `"${type.slice(0, 32)}" is not a NIP-56 report type: use one of ${allowed.join(', ')}`
    )
  }
  static TEXT_TOO_LONG(what: string, bytes: number, max: number): ReputationError {
    return new ReputationError('TEXT_TOO_LONG', `the ${what} is ${bytes} bytes, over the ${max} byte bound: shorten it`)
  }
  static INVALID_PROOF(why: string): ReputationError {
    return new ReputationError(
      'INVALID_PROOF',
      `the proof of payment does not hold (${why}): a review without a valid proof counts for almost nothing, so it was not published`
    )
  }
  static INVALID_SUBJECT_ID(id: string): ReputationError {
    return new ReputationError(
      'INVALID_SUBJECT_ID',
      `"${id.slice(0, 80)}" is not a job request id (64 hex) or a session id (32 hex)`
    )
  }
}

export function isReputationError(err: unknown): err is ReputationError {
  return err instanceof ReputationError
}
