// @2020117/lnurl-server: the local network's Lightning addresses, which take NIP-57 zaps.

export { startLnurlServer, MAX_PENDING_ZAPS } from './server.js'
export type { LnurlServerOptions, RunningLnurlServer } from './server.js'
export { checkZapRequest, MAX_ZAP_REQUEST_BYTES, MAX_ZAP_REQUEST_TAGS, MAX_TAG_VALUES } from './zap-request.js'
export { buildReceipt } from './receipt.js'
export type { PaidZap } from './receipt.js'
export { loadServerKey, KEY_FILE } from './key.js'
export { LnurlServerError, isLnurlServerError } from './errors.js'
export type { LnurlServerErrorCode } from './errors.js'
