// Why a job ended without a result, as the customer is told: a reason of SPEC §10.7 first, then a
// colon and a bounded, control-stripped sentence. The sentence never quotes a secret; it may quote
// a processor's stderr tail (the processors bound and strip it), which is why the text of an
// encrypted job's error travels encrypted (buildFeedback).

import { MAX_JOB_STATUS_TEXT_BYTES, type JobErrorReason } from '@2020117/protocol'
import { stripControls } from '@2020117/cli'
import { ProcessorError } from '../processors/index.js'

export class JobFailure extends Error {
  readonly reason: JobErrorReason

  private constructor(reason: JobErrorReason, message: string) {
    super(message)
    this.name = 'JobFailure'
    this.reason = reason
  }

  /** The status text of the `error` feedback: `REASON: sentence`, at most the protocol's bound. */
  get text(): string {
    return bounded(`${this.reason}: ${stripControls(this.message)}`)
  }

  /**
   * The same failure of a job the customer already paid: NIP-90 has no refund (the provider holds no
   * invoice of the customer's to pay back), so the customer is told plainly that the sats are spent.
   */
  afterPayment(msat: number): JobFailure {
    // First, so that the status text's bound never cuts it off.
    return new JobFailure(this.reason, `paid ${msat} msat, not refunded (NIP-90 has no refund); ${this.message}`)
  }

  static BID_TOO_LOW(bidMsat: number, priceMsat: number): JobFailure {
    return new JobFailure('BID_TOO_LOW', `the bid of ${bidMsat} msat is below the price of ${priceMsat} msat`)
  }
  static INPUT_INVALID(why: string): JobFailure {
    return new JobFailure('INPUT_INVALID', why)
  }
  static INPUT_TOO_LARGE(why: string): JobFailure {
    return new JobFailure('INPUT_TOO_LARGE', why)
  }
  static UNDECRYPTABLE(): JobFailure {
    return new JobFailure(
      'UNDECRYPTABLE',
      'marked encrypted, but it does not decrypt for this provider (NIP-44 or NIP-04)'
    )
  }
  static NO_CAPACITY(max: number): JobFailure {
    return new JobFailure('NO_CAPACITY', `this provider runs its maximum of ${max} jobs: try again later`)
  }
  static PAYMENT_NOT_RECEIVED(why: string): JobFailure {
    return new JobFailure('PAYMENT_NOT_RECEIVED', why)
  }
  static OUTPUT_TOO_LARGE(why: string): JobFailure {
    return new JobFailure('OUTPUT_TOO_LARGE', why)
  }
  static ENCRYPTED_IMAGE(kind: number): JobFailure {
    return new JobFailure(
      'OUTPUT_TOO_LARGE',
      `kind ${kind}'s output is an image, which goes to a public blob; an encrypted answer must fit in the event: send the request unencrypted`
    )
  }
  static CANCELLED(): JobFailure {
    return new JobFailure('CANCELLED', 'the customer cancelled the request before paying')
  }
  static INTERNAL_ERROR(): JobFailure {
    return new JobFailure('INTERNAL_ERROR', 'the provider failed')
  }

  /** A processor's failure in the job's words; ABORTED (a cancellation or a shutdown) is CANCELLED. */
  static fromProcessor(err: ProcessorError): JobFailure {
    switch (err.code) {
      case 'PROCESSOR_TIMEOUT':
        return new JobFailure('PROCESSOR_TIMEOUT', err.message)
      case 'OUTPUT_TOO_LARGE':
        return new JobFailure('OUTPUT_TOO_LARGE', err.message)
      case 'INVALID_PARAMS':
        return new JobFailure('INPUT_INVALID', err.message)
      case 'ABORTED':
        return JobFailure.CANCELLED()
      default:
        return new JobFailure('PROCESSOR_FAILED', err.message)
    }
  }

  /** Anything thrown while working a job: ours and the processor's as they are, the rest INTERNAL_ERROR. */
  static of(err: unknown): JobFailure {
    if (err instanceof JobFailure) return err
    if (err instanceof ProcessorError) return JobFailure.fromProcessor(err)
    return JobFailure.INTERNAL_ERROR()
  }
}

function bounded(text: string): string {
  const bytes = Buffer.from(text)
  if (bytes.byteLength <= MAX_JOB_STATUS_TEXT_BYTES) return text
  // Cut on a code point boundary: a torn UTF-8 sequence would decode to a replacement character.
  let end = MAX_JOB_STATUS_TEXT_BYTES - 3
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString() + '…'
}
