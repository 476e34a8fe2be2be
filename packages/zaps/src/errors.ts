// Why a zap receipt does not count. A refused receipt adds nothing to anyone's reputation; the code
// says which check of NIP-57 Appendix F failed, so a viewer can show why a zap was dropped.

export type ZapErrorCode =
  /** Not an event, or its id or signature does not verify. */
  | 'INVALID_RECEIPT'
  /** A valid event, but not of kind 9735. */
  | 'NOT_A_RECEIPT'
  /** Not signed by the `nostrPubkey` of the recipient's LNURL server. */
  | 'WRONG_SIGNER'
  /** No single `description` tag: no zap request to check. */
  | 'DESCRIPTION_MISSING'
  /** The `description` tag is over MAX_DESCRIPTION_BYTES. */
  | 'DESCRIPTION_TOO_LARGE'
  /** The `description` is not a validly signed kind 9734 zap request. */
  | 'INVALID_ZAP_REQUEST'
  /** The zap request (or the receipt) has no `p`, or more than one. */
  | 'RECIPIENT_COUNT'
  /** The `p` of the zap request or of the receipt is not the expected recipient. */
  | 'WRONG_RECIPIENT'
  /** No single `bolt11` tag, or it does not decode under the BOLT #11 reader rules. */
  | 'INVOICE_INVALID'
  /** The invoice has no amount (or a zero one): there is nothing to count. */
  | 'AMOUNT_MISSING'
  /** The zap request's `amount` is not the invoice's amount. */
  | 'AMOUNT_MISMATCH'
  /** The invoice's `h` is not the SHA-256 of the `description` tag. */
  | 'DESCRIPTION_HASH_MISMATCH'
  /** The zap request's author is the recipient. */
  | 'SELF_ZAP'
  /** The receipt's `e` is not the zap request's `e`. */
  | 'EVENT_MISMATCH'
  /** The LNURL-pay endpoint could not be read: address, network, size, JSON or an insecure URL. */
  | 'LNURL_FAILED'
  /** The LNURL-pay endpoint does not take zaps: `allowsNostr` is not true or `nostrPubkey` is not a key. */
  | 'LNURL_NOT_NOSTR'

export class ZapError extends Error {
  readonly code: ZapErrorCode

  constructor(code: ZapErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ZapError'
    this.code = code
  }

  static INVALID_RECEIPT(why: string): ZapError {
    return new ZapError('INVALID_RECEIPT', `not a valid zap receipt event: ${why}; drop it`)
  }
  static NOT_A_RECEIPT(kind: number): ZapError {
    return new ZapError('NOT_A_RECEIPT', `an event of kind ${kind} is not a zap receipt (9735); drop it`)
  }
  static WRONG_SIGNER(): ZapError {
    return new ZapError(
      'WRONG_SIGNER',
      "the receipt is not signed by the recipient's LNURL server nostrPubkey; anyone can sign such a receipt, so it does not count"
    )
  }
  static DESCRIPTION_MISSING(): ZapError {
    return new ZapError('DESCRIPTION_MISSING', 'the receipt has no single `description` tag holding the zap request')
  }
  static DESCRIPTION_TOO_LARGE(max: number): ZapError {
    return new ZapError('DESCRIPTION_TOO_LARGE', `the receipt's zap request is over ${max} bytes; it is not read`)
  }
  static INVALID_ZAP_REQUEST(why: string): ZapError {
    return new ZapError('INVALID_ZAP_REQUEST', `the embedded zap request is not valid: ${why}`)
  }
  static RECIPIENT_COUNT(where: string, count: number): ZapError {
    return new ZapError('RECIPIENT_COUNT', `the ${where} has ${count} \`p\` tags, not exactly one`)
  }
  static WRONG_RECIPIENT(where: string): ZapError {
    return new ZapError('WRONG_RECIPIENT', `the ${where}'s \`p\` is not the provider this zap is counted for`)
  }
  static INVOICE_INVALID(why: string, cause?: unknown): ZapError {
    return new ZapError('INVOICE_INVALID', `the receipt's bolt11 is not a valid invoice: ${why}`, { cause })
  }
  static AMOUNT_MISSING(): ZapError {
    return new ZapError('AMOUNT_MISSING', "the receipt's invoice has no amount, so there is nothing to count")
  }
  static AMOUNT_MISMATCH(requested: string, invoiced: number): ZapError {
    return new ZapError(
      'AMOUNT_MISMATCH',
      `the zap request asked for ${requested} msat but the invoice is for ${invoiced} msat`
    )
  }
  static DESCRIPTION_HASH_MISMATCH(): ZapError {
    return new ZapError(
      'DESCRIPTION_HASH_MISMATCH',
      "the invoice's description hash is not the SHA-256 of the receipt's zap request"
    )
  }
  static SELF_ZAP(): ZapError {
    return new ZapError('SELF_ZAP', 'the zap request is signed by the recipient itself; a self-zap does not count')
  }
  static EVENT_MISMATCH(): ZapError {
    return new ZapError('EVENT_MISMATCH', "the receipt's `e` is not the event its zap request zapped")
  }
  static LNURL_FAILED(address: string, why: string, cause?: unknown): ZapError {
    return new ZapError('LNURL_FAILED', `could not read the LNURL-pay endpoint of ${address}: ${why}`, { cause })
  }
  static LNURL_NOT_NOSTR(address: string, why: string): ZapError {
    return new ZapError(
      'LNURL_NOT_NOSTR',
      `${address} does not take zaps (${why}); its receipts cannot be checked, so none count`
    )
  }
}

export function isZapError(err: unknown): err is ZapError {
  return err instanceof ZapError
}
