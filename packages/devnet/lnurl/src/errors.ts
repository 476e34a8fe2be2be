// Everything the local LNURL server can refuse or fail at. `code` is stable (tests match on it);
// a refusal of a request goes out as LUD-06's `{ "status": "ERROR", "reason": message }`, so
// every message says what was wrong and what to do instead.

export type LnurlServerErrorCode =
  | 'INVALID_OPTION'
  | 'LISTEN_FAILED'
  | 'KEY_FAILED'
  | 'NOT_FOUND'
  | 'UNKNOWN_ACCOUNT'
  | 'BAD_AMOUNT'
  | 'BAD_ZAP_REQUEST'
  | 'RECIPIENT_UNBOUND'
  | 'TOO_MANY_PENDING'
  | 'WALLET_DOWN'
  | 'INVOICE_FAILED'
  | 'INTERNAL'

const STATUS: Record<LnurlServerErrorCode, number> = {
  INVALID_OPTION: 500,
  LISTEN_FAILED: 500,
  KEY_FAILED: 500,
  NOT_FOUND: 404,
  UNKNOWN_ACCOUNT: 404,
  BAD_AMOUNT: 400,
  BAD_ZAP_REQUEST: 400,
  RECIPIENT_UNBOUND: 400,
  TOO_MANY_PENDING: 503,
  WALLET_DOWN: 503,
  INVOICE_FAILED: 500,
  INTERNAL: 500
}

export class LnurlServerError extends Error {
  readonly code: LnurlServerErrorCode

  constructor(code: LnurlServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LnurlServerError'
    this.code = code
  }

  get status(): number {
    return STATUS[this.code]
  }

  static INVALID_OPTION(name: string, why: string): LnurlServerError {
    return new LnurlServerError('INVALID_OPTION', `lnurl server option ${name} ${why}`)
  }
  static LISTEN_FAILED(host: string, port: number, cause: unknown): LnurlServerError {
    const code = (cause as { code?: string } | null)?.code ?? 'unknown error'
    return new LnurlServerError(
      'LISTEN_FAILED',
      `could not listen on ${host}:${port} (${code}): pick another port, or use port 0 for an ephemeral one`,
      { cause }
    )
  }
  static KEY_FAILED(path: string, why: string, cause?: unknown): LnurlServerError {
    return new LnurlServerError(
      'KEY_FAILED',
      `the zap-receipt key in ${path} ${why}: delete the file to make a new key (older receipts then stop validating)`,
      { cause }
    )
  }
  static NOT_FOUND(): LnurlServerError {
    return new LnurlServerError(
      'NOT_FOUND',
      'not served here: GET /.well-known/lnurlp/<account> and the callback it names'
    )
  }
  static UNKNOWN_ACCOUNT(name: string): LnurlServerError {
    return new LnurlServerError(
      'UNKNOWN_ACCOUNT',
      `no wallet account "${name}" on this devnet: create it with 2020117-devnet account create`
    )
  }
  static BAD_AMOUNT(min: number, max: number): LnurlServerError {
    return new LnurlServerError('BAD_AMOUNT', `amount must be a whole number of msat from ${min} to ${max}`)
  }
  static BAD_ZAP_REQUEST(why: string): LnurlServerError {
    return new LnurlServerError('BAD_ZAP_REQUEST', `the zap request (nostr) is refused: ${why} (NIP-57 Appendix D)`)
  }
  static RECIPIENT_UNBOUND(address: string): LnurlServerError {
    return new LnurlServerError(
      'RECIPIENT_UNBOUND',
      `the zap request's p has no profile (kind 0) on the devnet relay naming ${address} as its lud16: ` +
        'the recipient publishes one first, so that no payer can credit a zap to a key of its choosing'
    )
  }
  static TOO_MANY_PENDING(max: number): LnurlServerError {
    return new LnurlServerError(
      'TOO_MANY_PENDING',
      `${max} zap invoices are waiting to be paid: pay one or let them expire, then ask again`
    )
  }
  static WALLET_DOWN(): LnurlServerError {
    return new LnurlServerError('WALLET_DOWN', 'the devnet wallet is stopped: start it again and retry')
  }
  static INVOICE_FAILED(cause: unknown): LnurlServerError {
    const why = cause instanceof Error ? cause.message.slice(0, 200) : 'unknown error'
    return new LnurlServerError('INVOICE_FAILED', `the wallet could not make the invoice: ${why}`, { cause })
  }
  static INTERNAL(): LnurlServerError {
    return new LnurlServerError('INTERNAL', 'the lnurl server failed unexpectedly: see the devnet log, then retry')
  }
}

export function isLnurlServerError(err: unknown): err is LnurlServerError {
  return err instanceof LnurlServerError
}
