// The closed wire vocabularies (SPEC §8): `session_reject.code` (§8.2), `session_end.reason` (§8.3),
// `stream_reset.code` (§8.4) and the payment methods of `skill_response` and `session_start` (§8.5),
// one list each, as a const and a type. A new value goes here and into SPEC §8 together.
//
// The lists are closed for senders, open for receivers (SPEC §8): a peer sends only these values,
// but the codecs accept any value of the right shape, so that a newer peer's code is received as-is
// (shown stripped, and treated as the generic refusal, end or reset) instead of failing the frame.

export const SESSION_REJECT_CODES = [
  'KIND_NOT_SERVED',
  'PRICE_TOO_HIGH',
  'NO_CAPACITY',
  'PAYMENT_METHOD_UNSUPPORTED',
  'BUDGET_TOO_SMALL',
  'RATE_LIMITED',
  'RESUME_REFUSED'
] as const
export type SessionRejectCode = (typeof SESSION_REJECT_CODES)[number]

export const SESSION_END_REASONS = [
  'CUSTOMER_QUIT',
  'BUDGET_EXHAUSTED',
  'UNPAID',
  'FIRST_PAYMENT_TIMEOUT',
  'PROVIDER_SHUTDOWN',
  'PROVIDER_ERROR',
  'CUSTOMER_GONE',
  'PROVIDER_GONE',
  'PRICE_MISMATCH',
  'TERMS_MISMATCH',
  'TICK_ALREADY_PAID',
  'RESUME_REWOUND',
  'NO_RECEIPT',
  'FEE_TOO_HIGH',
  'INVOICE_AMOUNT_MISMATCH',
  'INVOICE_NETWORK_MISMATCH',
  'INVOICE_EXPIRED',
  'INVOICE_HASH_REUSED',
  'INVOICE_PAYEE_CHANGED',
  'INVOICE_INVALID',
  'TICK_OUT_OF_ORDER',
  'TICK_TOO_EARLY',
  'PAYMENT_FAILED'
] as const
export type SessionEndReason = (typeof SESSION_END_REASONS)[number]

export const STREAM_RESET_CODES = [
  'PAYMENT_REQUIRED',
  'TOO_MANY_STREAMS',
  'UPSTREAM_UNAVAILABLE',
  'SESSION_ENDED',
  'CANCELLED'
] as const
export type StreamResetCode = (typeof STREAM_RESET_CODES)[number]

/**
 * The `error.code` of the JSON body a provider's gateway answers an HTTP request with when it does
 * not forward it (SPEC §6.2).
 */
export const GATEWAY_ERROR_CODES = [
  'BAD_REQUEST',
  'BAD_REQUEST_TARGET',
  'HEADERS_TOO_LARGE',
  'NOT_IMPLEMENTED',
  'PATH_DENIED',
  'METHOD_NOT_ALLOWED',
  'UPSTREAM_UNAVAILABLE'
] as const
export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number]

export const PAYMENT_METHODS = ['bolt11', 'free'] as const
export type PaymentMethod = (typeof PAYMENT_METHODS)[number]

export function isSessionEndReason(reason: unknown): reason is SessionEndReason {
  return (SESSION_END_REASONS as readonly unknown[]).includes(reason)
}

export function isStreamResetCode(code: unknown): code is StreamResetCode {
  return (STREAM_RESET_CODES as readonly unknown[]).includes(code)
}
