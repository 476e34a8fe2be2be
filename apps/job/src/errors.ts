// How a job run ends when it does not end delivered, and why an offer was refused. Each ending has
// a stable code and its own exit status (documented in --help and the README), so that a script can
// tell "nobody offered" from "refused to pay" from "paid, nothing came back" without reading prose.
// Refusals of an invoice reuse the wallet's codes (INVOICE_*, FEE_TOO_HIGH); the JOB_* codes here
// are the checks only a job has.

export type JobRunErrorCode =
  /** No offer within the bid (and from --provider, when given) before --timeout. */
  | 'NO_OFFER'
  /** Paid, but no result came before --timeout (or the run was interrupted after paying). */
  | 'NO_RESULT'
  /** Every offer that came was refused; `reason` names the last check that failed. */
  | 'OFFER_REFUSED'
  /** Ctrl-C (SIGINT) or SIGTERM before anything was paid: the request was cancelled (kind 5). */
  | 'CANCELLED'
  /** The paid provider sent an `error` feedback instead of a result. */
  | 'PROVIDER_FAILED'
  /** The wallet failed the payment, or could not say whether it went through. */
  | 'PAYMENT_FAILED'
  /** The result came, but could not be saved (the file exists, the blob did not match). */
  | 'OUTPUT_FAILED'
  /** No relay took the request: nothing was asked, nothing paid. */
  | 'NOT_PUBLISHED'

/** The reason codes of a refused offer that are not the wallet's. */
export type JobRefusalCode =
  | 'JOB_NO_INVOICE'
  | 'JOB_AMOUNT_TAG_MISMATCH'
  | 'JOB_OVER_BID'
  | 'JOB_BLOB_UNVERIFIED'
  /** With --review: the invoice's description does not name the request, the provider and the customer. */
  | 'JOB_INVOICE_NOT_PROVABLE'
  /** The provider is flagged (reported by 3 or more of your graph) and --allow-flagged was not given. */
  | 'JOB_PROVIDER_FLAGGED'
  /** The provider scores below --min-score. */
  | 'JOB_LOW_SCORE'
  /** The provider's validated zap total is below --min-zap-sats (it answered a request that asked for more). */
  | 'JOB_LOW_ZAPS'
  /** The provider's reputation could not be read in time, and --min-score above 0 or --min-zap-sats asks for one. */
  | 'JOB_UNRATED'

/** Exit statuses: 0 delivered; 1 an error before the job; 2 a usage error; 3-9 the endings. */
export const EXIT: Record<JobRunErrorCode, number> = {
  NO_OFFER: 3,
  NO_RESULT: 4,
  OFFER_REFUSED: 5,
  CANCELLED: 6,
  PROVIDER_FAILED: 7,
  PAYMENT_FAILED: 8,
  OUTPUT_FAILED: 9,
  NOT_PUBLISHED: 1
}

export class JobRunError extends Error {
  readonly code: JobRunErrorCode | JobRefusalCode
  readonly exitCode: number

  constructor(code: JobRunErrorCode | JobRefusalCode, message: string, exitCode: number) {
    super(message)
    this.name = 'JobRunError'
    this.code = code
    this.exitCode = exitCode
  }

  // Refusals of one offer: the run goes on and waits for another, unless the offer was --provider's.
  static JOB_NO_INVOICE(): JobRunError {
    return refusal('JOB_NO_INVOICE', 'the payment-required feedback carries no bolt11 invoice in its amount tag')
  }
  static JOB_AMOUNT_TAG_MISMATCH(tagMsat: number | null, invoiceMsat: string | null): JobRunError {
    return refusal(
      'JOB_AMOUNT_TAG_MISMATCH',
      `the amount tag says ${tagMsat ?? 'nothing'} msat, the invoice asks ${invoiceMsat ?? 'any amount'} msat`
    )
  }
  static JOB_OVER_BID(amountMsat: string, maxMsat: number): JobRunError {
    return refusal(
      'JOB_OVER_BID',
      `the offer asks ${amountMsat} msat, above the ${maxMsat} msat the bid allows (--bid less the --max-fee reserve)`
    )
  }

  static JOB_INVOICE_NOT_PROVABLE(missing: string): JobRunError {
    return refusal(
      'JOB_INVOICE_NOT_PROVABLE',
      `the invoice's description does not name ${missing}, so the review could not be verified (its proof of payment would not hold). Drop --review to buy anyway`
    )
  }

  static JOB_BLOB_UNVERIFIED(why: string): JobRunError {
    return refusal('JOB_BLOB_UNVERIFIED', `the pay-after result's blob was not paid for: ${why}`)
  }

  // Refusals by reputation (SPEC §11): the offer may be sound, its provider is not one to pay.
  static JOB_PROVIDER_FLAGGED(reporters: number): JobRunError {
    return refusal(
      'JOB_PROVIDER_FLAGGED',
      `the provider is flagged: reported by ${reporters} of your graph. Give --allow-flagged to deal with it anyway`
    )
  }
  static JOB_LOW_SCORE(score: number, minScore: number): JobRunError {
    return refusal('JOB_LOW_SCORE', `the provider scores ${score}, below --min-score=${minScore}`)
  }
  static JOB_LOW_ZAPS(totalSats: number, minSats: number): JobRunError {
    return refusal(
      'JOB_LOW_ZAPS',
      `the provider's validated zaps total ${totalSats} sats, below the ${minSats} sats --min-zap-sats asked for`
    )
  }

  static JOB_UNRATED(threshold: string): JobRunError {
    return refusal(
      'JOB_UNRATED',
      `the provider's reputation could not be read in time (or the read failed), so it cannot be shown to meet ${threshold}. Try again later, or drop ${threshold.split('=')[0]} to deal with unrated providers`
    )
  }

  // Endings of the run.
  static NO_OFFER(seconds: number, overBid: number): JobRunError {
    const more = overBid > 0 ? `; ${overBid} offer(s) asked more than the bid: raise --bid to take them` : ''
    return new JobRunError(
      'NO_OFFER',
      `no offer within the bid came in ${seconds} s${more}. Nothing was paid`,
      EXIT.NO_OFFER
    )
  }
  static NO_RESULT(why: string): JobRunError {
    return new JobRunError(
      'NO_RESULT',
      `paid, but ${why}: no result. The provider may still deliver it; the request id is in the summary`,
      EXIT.NO_RESULT
    )
  }
  static OFFER_REFUSED(reason: string, why: string): JobRunError {
    const tail = /nothing was paid\.?$/i.test(why) ? '' : '. Nothing was paid'
    return new JobRunError('OFFER_REFUSED', `refused the invoice (${reason}): ${why}${tail}`, EXIT.OFFER_REFUSED)
  }
  static CANCELLED(published: number): JobRunError {
    return new JobRunError(
      'CANCELLED',
      `interrupted before paying: the request was cancelled (a kind 5 deletion, taken by ${published} relay(s)). Nothing was paid`,
      EXIT.CANCELLED
    )
  }
  static PROVIDER_FAILED(text: string): JobRunError {
    return new JobRunError(
      'PROVIDER_FAILED',
      `the paid provider reported an error instead of a result: ${text || '(no reason given)'}`,
      EXIT.PROVIDER_FAILED
    )
  }
  static PAYMENT_FAILED(why: string): JobRunError {
    return new JobRunError('PAYMENT_FAILED', why, EXIT.PAYMENT_FAILED)
  }
  /** `why`: what stopped it before any relay could take it (the proof of work, say), else unknown. */
  static NOT_PUBLISHED(relays: string[], why?: string): JobRunError {
    return new JobRunError(
      'NOT_PUBLISHED',
      `no relay took the request (${relays.join(', ')}): ${why ?? 'check --relays, and that they are up'}. Nothing was paid`,
      EXIT.NOT_PUBLISHED
    )
  }
  static OUTPUT_FAILED(why: string): JobRunError {
    return new JobRunError('OUTPUT_FAILED', `the result came but was not saved: ${why}`, EXIT.OUTPUT_FAILED)
  }
}

function refusal(code: JobRefusalCode, message: string): JobRunError {
  return new JobRunError(code, message, EXIT.OFFER_REFUSED)
}

/** Why --review published nothing. The job's own ending (and exit status) stays what it was. */
export type ReviewSkipCode =
  /** Nothing was paid: a review has no proof of payment to carry. */
  | 'REVIEW_FREE_JOB'
  /** The invoice paid and the preimage do not make a proof (e.g. the invoice does not name the job). */
  | 'REVIEW_INVALID_PROOF'
  /** No relay took the review. */
  | 'REVIEW_NOT_PUBLISHED'

export class ReviewSkipped extends Error {
  readonly code: ReviewSkipCode

  constructor(code: ReviewSkipCode, message: string) {
    super(message)
    this.name = 'ReviewSkipped'
    this.code = code
  }

  static REVIEW_FREE_JOB(): ReviewSkipped {
    return new ReviewSkipped(
      'REVIEW_FREE_JOB',
      'not reviewed: the job was free, so there is no proof of payment to carry (an unproven review weighs almost nothing)'
    )
  }
  static REVIEW_INVALID_PROOF(why: string): ReviewSkipped {
    return new ReviewSkipped('REVIEW_INVALID_PROOF', `not reviewed: ${why}`)
  }
  static REVIEW_NOT_PUBLISHED(relays: string[]): ReviewSkipped {
    return new ReviewSkipped(
      'REVIEW_NOT_PUBLISHED',
      `not reviewed: no relay took the review (${relays.join(', ')}); the job itself is done`
    )
  }
}
