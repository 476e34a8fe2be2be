// The NIP-90 job vocabulary (SPEC §10): the statuses a provider's feedback carries, the input types
// of a request, the reasons an `error` feedback names, and the bounds both sides hold incoming job
// events to. Closed lists for senders, as §8's are: a receiver keeps an unknown value as received
// and treats it as the generic case.

/** Job request kinds are 5000–5999; the result of kind K is K + 1000; feedback is kind 7000. */
export const JOB_REQUEST_KIND_MIN = 5000
export const JOB_REQUEST_KIND_MAX = 5999
export const JOB_RESULT_OFFSET = 1000

export function isJobRequestKind(kind: number): boolean {
  return Number.isInteger(kind) && kind >= JOB_REQUEST_KIND_MIN && kind <= JOB_REQUEST_KIND_MAX
}

export function jobResultKind(requestKind: number): number {
  return requestKind + JOB_RESULT_OFFSET
}

/** `["status", …]` of a kind 7000 feedback. NDK spells the first `payment_required`: read both. */
export const JOB_STATUSES = ['payment-required', 'processing', 'error', 'success', 'partial'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

/** The third element of an `i` tag. `prompt` is read as `text` (older clients send it). */
export const JOB_INPUT_TYPES = ['text', 'url', 'event', 'job'] as const
export type JobInputType = (typeof JOB_INPUT_TYPES)[number]

/**
 * What an `error` feedback names, as the first word of its status text (`["status", "error",
 * "BID_TOO_LOW: …"]`), so that a program can tell a refusal from a failure without reading prose.
 */
export const JOB_ERROR_REASONS = [
  'BID_TOO_LOW',
  'INPUT_INVALID',
  'INPUT_TOO_LARGE',
  'UNDECRYPTABLE',
  'NO_CAPACITY',
  'PAYMENT_NOT_RECEIVED',
  'PROCESSOR_FAILED',
  'PROCESSOR_TIMEOUT',
  'OUTPUT_TOO_LARGE',
  'CANCELLED',
  'INTERNAL_ERROR'
] as const
export type JobErrorReason = (typeof JOB_ERROR_REASONS)[number]

/** An incoming job event (request, feedback or result) larger than this, as JSON, is ignored. */
export const MAX_JOB_EVENT_BYTES = 256 * 1024
/** Tags of one job event, after decryption. */
export const MAX_JOB_TAGS = 64
/** `i` tags of one request, and the bytes of their data together. */
export const MAX_JOB_INPUTS = 8
export const MAX_JOB_INPUT_BYTES = 64 * 1024
/** `param` tags of one request; a name and a value. */
export const MAX_JOB_PARAMS = 32
export const MAX_JOB_PARAM_BYTES = 1024
/** `relays` named by one request; `p` tags of one request. */
export const MAX_JOB_RELAYS = 8
export const MAX_JOB_PROVIDERS = 16
/** The status text of a feedback, and a bolt11 in an `amount` tag. */
export const MAX_JOB_STATUS_TEXT_BYTES = 1024
export const MAX_JOB_BOLT11_CHARS = 2048
