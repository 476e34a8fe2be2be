// Why a job event was refused. A refused event is never acted on: not worked on, not paid, not
// shown as a result. The message says which check failed, bounded and free of peer control bytes.

export type JobErrorCode =
  /** Bad signature, id, kind or shape: not a job event at all. */
  | 'INVALID_EVENT'
  /** A count or length above its bound (protocol/src/jobs.ts). */
  | 'LIMIT_EXCEEDED'
  /** Marked encrypted, but it does not decrypt for us in NIP-44 or NIP-04. */
  | 'UNDECRYPTABLE'
  /** A feedback or result that does not answer our request, or is not addressed to us. */
  | 'NOT_OUR_REQUEST'

export class JobError extends Error {
  readonly code: JobErrorCode

  constructor(code: JobErrorCode, message: string) {
    super(message)
    this.name = 'JobError'
    this.code = code
  }

  static INVALID_EVENT(why: string): JobError {
    return new JobError('INVALID_EVENT', `not a valid NIP-90 event: ${why}`)
  }
  static LIMIT_EXCEEDED(what: string, max: number): JobError {
    return new JobError('LIMIT_EXCEEDED', `${what} is over the limit of ${max}`)
  }
  static UNDECRYPTABLE(why: string): JobError {
    return new JobError('UNDECRYPTABLE', `an encrypted job event that does not decrypt for this key: ${why}`)
  }
  static NOT_OUR_REQUEST(why: string): JobError {
    return new JobError('NOT_OUR_REQUEST', `not an answer to our request: ${why}`)
  }
}

export function isJobError(err: unknown): err is JobError {
  return err instanceof JobError
}
