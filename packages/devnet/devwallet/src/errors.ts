// One error class for the dev wallet (DevWalletError: the product's wallet client has its own WalletError). `code` is stable: callers and tests match on it, never on
// the message. Payment refusals use the NIP-47 error codes themselves, so the code a local caller
// sees is the code an NWC client sees; `nip47Code` maps the rest onto the wire.

export type Nip47ErrorCode =
  'INSUFFICIENT_BALANCE' | 'PAYMENT_FAILED' | 'NOT_FOUND' | 'QUOTA_EXCEEDED' | 'OTHER' | 'INTERNAL'

export type DevWalletErrorCode =
  | Exclude<Nip47ErrorCode, 'OTHER'>
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_ACCOUNT'
  | 'ACCOUNT_EXISTS'
  | 'LEDGER_CORRUPT'
  | 'STORAGE_FAILED'
  | 'RELAY_UNREACHABLE'
  | 'DIR_LOCKED'
  | 'CLOSED'

export class DevWalletError extends Error {
  readonly code: DevWalletErrorCode

  constructor(code: DevWalletErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DevWalletError'
    this.code = code
  }

  /** The NIP-47 error code an NWC client receives for this error. */
  get nip47Code(): Nip47ErrorCode {
    switch (this.code) {
      case 'INSUFFICIENT_BALANCE':
      case 'PAYMENT_FAILED':
      case 'NOT_FOUND':
      case 'QUOTA_EXCEEDED':
        return this.code
      case 'INVALID_ARGUMENT':
      case 'UNKNOWN_ACCOUNT':
        return 'OTHER'
      default:
        return 'INTERNAL'
    }
  }

  static INSUFFICIENT_BALANCE(account: string, needMsat: number, haveMsat: number): DevWalletError {
    return new DevWalletError(
      'INSUFFICIENT_BALANCE',
      `account ${account} holds ${haveMsat} msat but the payment needs ${needMsat} msat: fund the account or pay less`
    )
  }

  static PAYMENT_FAILED(why: string): DevWalletError {
    return new DevWalletError('PAYMENT_FAILED', `payment failed: ${why}`)
  }

  static NOT_FOUND(what: string): DevWalletError {
    return new DevWalletError('NOT_FOUND', `${what} is not known to this connection: check the payment hash or invoice`)
  }

  static QUOTA_EXCEEDED(account: string, amountMsat: number, spentMsat: number, budgetMsat: number): DevWalletError {
    return new DevWalletError(
      'QUOTA_EXCEEDED',
      `paying ${amountMsat} msat would exceed the budget of account ${account} ` +
        `(${spentMsat} of ${budgetMsat} msat spent): raise its budget or pay less`
    )
  }

  static INTERNAL(what: string): DevWalletError {
    return new DevWalletError(
      'INTERNAL',
      `internal wallet error while ${what}; the ledger is unchanged, retry or restart the wallet`
    )
  }

  static INVALID_ARGUMENT(field: string, why: string): DevWalletError {
    return new DevWalletError('INVALID_ARGUMENT', `${field} ${why}`)
  }

  static UNKNOWN_ACCOUNT(name: string): DevWalletError {
    return new DevWalletError(
      'UNKNOWN_ACCOUNT',
      `no account named ${JSON.stringify(name)}: create it with createAccount()`
    )
  }

  static ACCOUNT_EXISTS(name: string): DevWalletError {
    return new DevWalletError('ACCOUNT_EXISTS', `account ${JSON.stringify(name)} already exists: pick another name`)
  }

  static LEDGER_CORRUPT(path: string, why: string): DevWalletError {
    return new DevWalletError(
      'LEDGER_CORRUPT',
      `wallet ledger ${path} is unreadable (${why}): restore it from a backup, or point the wallet at an empty dir`
    )
  }

  static STORAGE_FAILED(path: string, cause: unknown): DevWalletError {
    const code = (cause as { code?: string } | null)?.code ?? 'unknown error'
    return new DevWalletError('STORAGE_FAILED', `could not write ${path} (${code}): check free space and permissions`, {
      cause
    })
  }

  static RELAY_UNREACHABLE(url: string, cause?: unknown): DevWalletError {
    return new DevWalletError(
      'RELAY_UNREACHABLE',
      `could not reach the Nostr relay ${url}: start the relay first, or check the wallet's relayUrl`,
      { cause }
    )
  }

  static DIR_LOCKED(dir: string, pid: number): DevWalletError {
    return new DevWalletError(
      'DIR_LOCKED',
      `wallet dir ${dir} is in use by process ${pid}: stop that wallet first, or delete ${dir}/wallet.lock if no wallet runs`
    )
  }

  static CLOSED(): DevWalletError {
    return new DevWalletError('CLOSED', 'the wallet is closed: start a new one with startWallet()')
  }
}

export function isDevWalletError(err: unknown): err is DevWalletError {
  return err instanceof DevWalletError
}
