// Why the session bin chose nobody by reputation, or published no review. Each code is stable and
// each message says what to do next; runMain prints them as `error CODE: …` (or JSON with --json).

import { FLAG_REPORTERS } from '@2020117/protocol'

export type SessionCliErrorCode =
  /** Every provider that could serve is flagged (reported by enough keys in your graph). */
  | 'ALL_FLAGGED'
  /** Every provider that could serve scores under --min-score. */
  | 'ALL_BELOW_MIN_SCORE'
  /** Some were flagged, the others under --min-score. */
  | 'NO_PROVIDER_QUALIFIES'
  /** A review needs the proof of a paid tick, and this session paid none (free, or none paid yet). */
  | 'REVIEW_NOT_PAID'
  /** The provider proved no Nostr key: there is nobody to name in a review. */
  | 'REVIEW_NO_PROVIDER_KEY'
  /** The review text holds one of the customer's secrets: it would be published for anyone to read. */
  | 'REVIEW_HOLDS_SECRET'

export class SessionCliError extends Error {
  readonly code: SessionCliErrorCode

  constructor(code: SessionCliErrorCode, message: string) {
    super(message)
    this.name = 'SessionCliError'
    this.code = code
  }

  static ALL_FLAGGED(count: number): SessionCliError {
    return new SessionCliError(
      'ALL_FLAGGED',
      `all ${count} provider(s) that could serve are flagged (each reported by ${FLAG_REPORTERS} or more keys in your graph): rent from one anyway with --allow-flagged, or try again later`
    )
  }

  static ALL_BELOW_MIN_SCORE(count: number, minScore: number, best: number): SessionCliError {
    return new SessionCliError(
      'ALL_BELOW_MIN_SCORE',
      `all ${count} provider(s) that could serve score under --min-score=${minScore} (the best scores ${best}): lower --min-score, or leave it out`
    )
  }

  static NO_PROVIDER_QUALIFIES(flagged: number, low: number, minScore: number): SessionCliError {
    return new SessionCliError(
      'NO_PROVIDER_QUALIFIES',
      `no provider qualifies: ${flagged} flagged, ${low} under --min-score=${minScore}; use --allow-flagged and a lower --min-score to rent from one anyway`
    )
  }

  static REVIEW_NOT_PAID(free: boolean): SessionCliError {
    return new SessionCliError(
      'REVIEW_NOT_PAID',
      `${free ? 'this session is free' : 'this session has paid no tick yet'}: a review needs the proof of a paid tick (its invoice and preimage), so none was published`
    )
  }

  static REVIEW_NO_PROVIDER_KEY(): SessionCliError {
    return new SessionCliError(
      'REVIEW_NO_PROVIDER_KEY',
      'the provider proved no Nostr key, so a review cannot name it: nothing was published'
    )
  }

  static REVIEW_HOLDS_SECRET(): SessionCliError {
    return new SessionCliError(
      'REVIEW_HOLDS_SECRET',
      'the review text holds one of your secrets (your Nostr private key or your wallet connection secret): nothing was published; write it without the secret'
    )
  }
}
