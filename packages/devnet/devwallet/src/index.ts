export { startWallet, DevWallet, INITIAL_ACCOUNTS } from './wallet.js'
export type { WalletOptions, AccountInfo, CreateAccountOptions, DevWalletEvents } from './wallet.js'
export { readBalances, LEDGER_FILE } from './ledger.js'
export type {
  WalletTransaction,
  MakeInvoiceRequest,
  ListTransactionsRequest,
  PaymentResult,
  BalanceRecord
} from './ledger.js'
export { REGTEST, DEFAULT_EXPIRY_SECS } from './node-key.js'
// The one place that loads the NWC SDK on Node 20 is @2020117/wallet; re-exported for tests.
export { loadNwcSdk } from '@2020117/wallet'
export { DevWalletError, isDevWalletError } from './errors.js'
export type { DevWalletErrorCode, Nip47ErrorCode } from './errors.js'
