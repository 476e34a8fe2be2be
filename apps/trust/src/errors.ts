// How a 2020117-trust command fails when it is not a usage error. Each code is stable and has its
// own exit status (documented in --help and the README), so that a script can tell "no relay took
// it" from "no proof of payment" without reading prose. A CliError, so runMain exits with it.

import { CliError } from '@2020117/cli'

export type TrustErrorCode =
  /** No relay took the event: nothing was published. */
  | 'NOT_PUBLISHED'
  /** The wallet holds no settled payment whose invoice names this job or session and provider. */
  | 'NO_PAYMENT_FOUND'
  /** The proof of payment does not hold (@2020117/reputation's checkReviewProof). */
  | 'INVALID_PROOF'
  /** The wallet connection may not list its transactions (NIP-47 list_transactions). */
  | 'WALLET_CANNOT_LIST'
  /** --job without --kind, and no relay has the job request to read its kind from. */
  | 'REQUEST_NOT_FOUND'

/** Exit statuses: 0 done; 1 another error; 2 a usage error; 3 not published; 4 no valid proof of payment. */
export const EXIT: Record<TrustErrorCode, number> = {
  NOT_PUBLISHED: 3,
  NO_PAYMENT_FOUND: 4,
  INVALID_PROOF: 4,
  WALLET_CANNOT_LIST: 4,
  REQUEST_NOT_FOUND: 1
}

export class TrustError extends CliError {
  constructor(code: TrustErrorCode, message: string) {
    super(code, message, EXIT[code])
    this.name = 'TrustError'
  }

  /** `why`: what stopped it before any relay could take it (the proof of work, say). */
  static NOT_PUBLISHED(what: string, relays: string[], why?: string): TrustError {
    return new TrustError(
      'NOT_PUBLISHED',
      `no relay took the ${what} (${relays.join(', ')}): nothing was published. ${why ?? 'Check --relays, and that they are up'}`
    )
  }
  static NO_PAYMENT_FOUND(what: string, read: number): TrustError {
    return new TrustError(
      'NO_PAYMENT_FOUND',
      `none of the ${read} settled payment(s) your wallet lists paid an invoice naming ${what}: nothing was published. A review needs that payment; if another wallet paid it, pass --bolt11 and --preimage`
    )
  }
  static INVALID_PROOF(message: string): TrustError {
    return new TrustError('INVALID_PROOF', message)
  }
  static WALLET_CANNOT_LIST(): TrustError {
    return new TrustError(
      'WALLET_CANNOT_LIST',
      'this NWC connection may not list_transactions, so the proof of payment cannot be found in it: enable it in your wallet, or pass --bolt11 and --preimage'
    )
  }
  static REQUEST_NOT_FOUND(id: string, relays: string[]): TrustError {
    return new TrustError(
      'REQUEST_NOT_FOUND',
      `no relay (${relays.join(', ')}) has the job request ${id}, so its kind is unknown: pass --kind`
    )
  }
}
