// @2020117/zaps: NIP-57 zap receipts, checked per Appendix F before they count toward reputation.

export { ZapError, isZapError } from './errors.js'
export type { ZapErrorCode } from './errors.js'
export { validateZapReceipt, dedupeZaps, MAX_DESCRIPTION_BYTES, MAX_ZAP_TAGS } from './receipt.js'
export type { ValidZap, ZapExpectation } from './receipt.js'
export { lnurlNostrPubkey, LnurlPubkeyCache } from './lnurl.js'
export type { LnurlOptions } from './lnurl.js'
