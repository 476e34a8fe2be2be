// The closed wire vocabularies of `session_reject.code` and `session_end.reason` (SPEC §8.2,
// §8.3), one list each, as a const and a type. A new code goes here and into SPEC §8 together.

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
