// @2020117/jobs: NIP-90 job events, written and read with every check a stranger's event needs.

export { JobError, isJobError } from './errors.js'
export type { JobErrorCode } from './errors.js'
export { schemeOf, encryptFor, decryptFrom, MAX_PLAINTEXT_BYTES } from './crypto.js'
export type { Encryption } from './crypto.js'
export { buildRequest, parseRequest, isExpired, buildCancellation, cancelledIds } from './request.js'
export type { JobInput, JobRequest, RequestOptions } from './request.js'
export { buildFeedback, buildResult, parseFeedback, parseResult } from './response.js'
export type { FeedbackOptions, ResultOptions, RequestRef, Feedback, Result } from './response.js'
