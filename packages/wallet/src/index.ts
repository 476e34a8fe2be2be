export { isWalletError, WalletError } from './errors.js'
export type { WalletErrorCode, InvoiceInvalidReason } from './errors.js'
export { routeHintFeeMsat, TickGuard } from './guard.js'
export type { GuardTerms, ApprovedTick } from './guard.js'
export {
  invoiceNetwork,
  decodeInvoice,
  preimageMatches,
  NETWORK_NAMES,
  walletNetworkName,
  knownNetwork,
  DEFAULT_EXPIRY_SECS,
  DEFAULT_MIN_FINAL_CLTV_DELTA,
  MAX_MIN_FINAL_CLTV_DELTA
} from './invoice.js'
export type { NetworkName, DecodedInvoice, DecodeOptions } from './invoice.js'
export { lightningAddressUrl, invoiceFromLightningAddress, readCappedText } from './lnurl.js'
export { loadNwcSdk, setWalletLogSink, NwcWallet } from './nwc.js'
export { answerRelayAuth } from './relay-auth.js'
export { cacheConversationKeys } from './conversation-key.js'
export type {
  WalletLogSink,
  NwcWalletOptions,
  WalletInfo,
  PaidInvoice,
  MadeInvoice,
  NwcClientLike,
  SettledPayment
} from './nwc.js'
