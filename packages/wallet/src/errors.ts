// Payment errors. The invoice codes double as session_end reasons (SPEC §8.3): when the customer
// refuses a tick, the code says which check failed, to the user and to the provider.

export type WalletErrorCode =
  | 'INVOICE_INVALID'
  | 'INVOICE_AMOUNT_MISMATCH'
  | 'INVOICE_NETWORK_MISMATCH'
  | 'INVOICE_EXPIRED'
  | 'INVOICE_HASH_REUSED'
  | 'INVOICE_PAYEE_CHANGED'
  | 'TICK_OUT_OF_ORDER'
  | 'TICK_TOO_EARLY'
  | 'TICK_ALREADY_PAID'
  | 'RESUME_REWOUND'
  | 'FEE_TOO_HIGH'
  | 'BUDGET_EXHAUSTED'
  | 'NWC_INVALID_URI'
  | 'WALLET_UNREACHABLE'
  | 'PAYMENT_FAILED'
  | 'PAYMENT_PENDING'
  | 'INSUFFICIENT_BALANCE'
  | 'QUOTA_EXCEEDED'
  | 'INVOICE_UNAVAILABLE'
  | 'LNURL_FAILED'
  | 'LNURL_INSECURE_URL'
  | 'NWC_LIBRARY_LOG'
  | 'NO_WALLET'

/**
 * Why an invoice is INVOICE_INVALID: one sub-code per BOLT #11 reader rule (and per rule of ours,
 * marked so). The wire carries only INVOICE_INVALID, a closed session_end reason (SPEC §8.3); the
 * sub-code is for logs, --json and tests, and the message names it too.
 */
export type InvoiceInvalidReason =
  | 'MALFORMED' // not bech32, or its data part does not parse into timestamp, fields and signature
  | 'CHECKSUM' // the bech32 checksum is wrong
  | 'UNKNOWN_PREFIX' // the prefix names no currency we know
  | 'AMOUNT_MALFORMED' // the amount has a non-digit, or is followed by something other than a multiplier
  | 'AMOUNT_SUB_MSAT' // a `p` amount whose last decimal is not 0
  | 'FIELD_LENGTH' // a `p`, `h`, `s` or `n` field whose data_length is not 52, 52, 52, 53; an `r` not whole hops
  | 'DUPLICATE_FIELD' // ours (lightning/bolts#1357): a field that may appear once appears twice
  | 'PAYMENT_HASH_MISSING' // no `p` field
  | 'PAYMENT_SECRET_MISSING' // no `s` field
  | 'DESCRIPTION_FIELDS' // neither `d` nor `h`, or both
  | 'DESCRIPTION_HASH_MISMATCH' // `h` is not the SHA-256 of the description the caller knows
  | 'FEATURE_REQUIRED_UNKNOWN' // an even feature bit we do not know
  | 'FEATURE_DEPENDENCY' // a known feature without the features it depends on
  | 'NON_MINIMAL_FIELD' // a `c`, `x` or `9` field that begins with 0 field elements
  | 'FIELD_OUT_OF_RANGE' // ours: an `x` or `c` value too large to mean anything
  | 'SIGNATURE' // the signature is not valid, or no key can be recovered from it
  | 'SIGNATURE_HIGH_S' // with an `n` field, a signature that is not low-S
  | 'PAYEE_MISMATCH' // the `n` field is not the key that signed

export class WalletError extends Error {
  readonly code: WalletErrorCode
  /** Set for INVOICE_INVALID only. */
  readonly reason: InvoiceInvalidReason | null

  constructor(code: WalletErrorCode, message: string, reason: InvoiceInvalidReason | null = null) {
    super(message)
    this.name = 'WalletError'
    this.code = code
    this.reason = reason
  }

  static INVOICE_INVALID(why: string, reason: InvoiceInvalidReason = 'MALFORMED'): WalletError {
    return new WalletError(
      'INVOICE_INVALID',
      `the invoice breaks BOLT #11 (${reason}): ${why}. Nothing was paid`,
      reason
    )
  }
  static INVOICE_AMOUNT_MISMATCH(got: string, expected: number): WalletError {
    return new WalletError(
      'INVOICE_AMOUNT_MISMATCH',
      `the invoice asks for ${got} msat, the agreed price gives ${expected} msat`
    )
  }
  static INVOICE_NETWORK_MISMATCH(got: string, expected: string): WalletError {
    return new WalletError('INVOICE_NETWORK_MISMATCH', `the invoice is for ${got}, this session pays on ${expected}`)
  }
  static INVOICE_EXPIRED(at: number): WalletError {
    return new WalletError('INVOICE_EXPIRED', `the invoice expired at ${new Date(at * 1000).toISOString()}`)
  }
  static INVOICE_HASH_REUSED(hash: string): WalletError {
    return new WalletError(
      'INVOICE_HASH_REUSED',
      `payment hash ${hash.slice(0, 16)}… was already seen: refusing to pay twice`
    )
  }
  static INVOICE_PAYEE_CHANGED(got: string, expected: string): WalletError {
    return new WalletError(
      'INVOICE_PAYEE_CHANGED',
      `the invoice is payable to node ${got.slice(0, 16)}…, earlier ticks to ${expected.slice(0, 16)}…`
    )
  }
  static TICK_OUT_OF_ORDER(why: string): WalletError {
    return new WalletError('TICK_OUT_OF_ORDER', why)
  }
  static TICK_TOO_EARLY(seq: number, earlyMs: number): WalletError {
    return new WalletError('TICK_TOO_EARLY', `tick ${seq} came ${earlyMs} ms before its period starts`)
  }
  static TICK_ALREADY_PAID(seq: number): WalletError {
    return new WalletError(
      'TICK_ALREADY_PAID',
      `tick ${seq} was paid already with another invoice: refusing to pay the same period twice`
    )
  }
  static RESUME_REWOUND(nextSeq: number, ticksPaid: number): WalletError {
    return new WalletError(
      'RESUME_REWOUND',
      `the resumed session would bill again from tick ${nextSeq}, but ${ticksPaid} ticks are paid: refusing to pay periods twice`
    )
  }
  static FEE_TOO_HIGH(feeMsat: number, maxFeeMsat: number, paid: boolean): WalletError {
    return new WalletError(
      'FEE_TOO_HIGH',
      paid
        ? `the wallet charged a ${feeMsat} msat routing fee, over the ${maxFeeMsat} msat limit: paying nothing more. Raise --max-fee if that fee is expected`
        : `the invoice's route hints would charge a ${feeMsat} msat routing fee, over the ${maxFeeMsat} msat limit (--max-fee)`
    )
  }
  static BUDGET_EXHAUSTED(spentMsat: number, amountMsat: number, budgetMsat: number): WalletError {
    return new WalletError(
      'BUDGET_EXHAUSTED',
      `paying ${amountMsat} msat more would pass the budget (${spentMsat} of ${budgetMsat} msat spent)`
    )
  }
  static NWC_INVALID_URI(why: string): WalletError {
    return new WalletError(
      'NWC_INVALID_URI',
      `the NWC URI is not usable: ${why}. It looks like nostr+walletconnect://<pubkey>?relay=wss://…&secret=<hex>`
    )
  }
  static WALLET_UNREACHABLE(why: string): WalletError {
    return new WalletError(
      'WALLET_UNREACHABLE',
      `the wallet could not be reached: ${why}. Is its relay reachable, and the connection still enabled in your wallet?`
    )
  }
  static PAYMENT_FAILED(why: string): WalletError {
    return new WalletError('PAYMENT_FAILED', `the payment failed: ${why}`)
  }
  static PAYMENT_PENDING(why = 'no confirmation in time'): WalletError {
    return new WalletError(
      'PAYMENT_PENDING',
      `the wallet did not confirm the payment (${why}) and lookup_invoice does not show it settled; it was not sent again, but it may still settle: check your wallet`
    )
  }
  static INSUFFICIENT_BALANCE(why: string): WalletError {
    return new WalletError(
      'INSUFFICIENT_BALANCE',
      `the wallet's balance is too low: ${why}. Top it up or lower --budget`
    )
  }
  static QUOTA_EXCEEDED(why: string): WalletError {
    return new WalletError(
      'QUOTA_EXCEEDED',
      `the wallet connection's spending budget is used up: ${why}. Raise it in your wallet`
    )
  }
  static INVOICE_UNAVAILABLE(why: string): WalletError {
    return new WalletError('INVOICE_UNAVAILABLE', `could not create an invoice: ${why}`)
  }
  static LNURL_FAILED(address: string, why: string): WalletError {
    return new WalletError('LNURL_FAILED', `Lightning address ${address} did not give an invoice: ${why}`)
  }
  static LNURL_INSECURE_URL(address: string, url: string): WalletError {
    return new WalletError(
      'LNURL_INSECURE_URL',
      `Lightning address ${address} sent a plain-http URL (${url}); LNURL-pay needs https except on loopback and .onion hosts, so nothing was requested. Ask its operator to serve https`
    )
  }
  /** Not thrown: what @getalby/sdk printed, handed to the log sink as a typed line (sdk-log.ts). */
  static NWC_LIBRARY_LOG(text: string): WalletError {
    return new WalletError('NWC_LIBRARY_LOG', `the NWC library said: ${text}`)
  }
  /** No wallet given to a bin: `role` says whether it was to pay (a customer) or to get paid (a provider). */
  static NO_WALLET(role: 'pay' | 'receive' = 'pay'): WalletError {
    return new WalletError(
      'NO_WALLET',
      role === 'pay'
        ? 'no wallet to pay with: pass --nwc=<nostr+walletconnect URI> (or set NWC_URI), or choose a free provider'
        : 'no way to get paid: pass --nwc=<nostr+walletconnect URI> or --lightning-address=name@domain (or --devnet for the local wallet), or run explicitly unpaid with --free'
    )
  }
}

export function isWalletError(err: unknown): err is WalletError {
  return err instanceof WalletError
}
