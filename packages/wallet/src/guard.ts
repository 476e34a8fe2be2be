// The customer's last line of defence (SPEC §5.4): a tick is paid only if every check passes.
// Checks run before any money moves, in a fixed order, and each refusal names its check.
//
// Invariants: a seq is paid at most once, and only with the invoice it was first paid with (a
// resume can re-send a paid bill, never re-bill its period: SPEC §5.5); every msat the wallet
// spends, routing fees included, counts in `spentMsat`; and a payment starts only while the budget
// covers its amount plus the fee limit, so fees cannot carry the total past the budget.

import { earlyToleranceMs, tickAmountMsat, tickDueMs, type Tick } from '@2020117/protocol'
import { WalletError } from './errors.js'
import { decodeInvoice, type DecodedInvoice, type NetworkName } from './invoice.js'

export interface GuardTerms {
  satsPerMinute: number
  tickSeconds: number
  budgetSats: number
  network: NetworkName
  /** Local time (ms) at which session_ack arrived: the session's t = 0. */
  startedAt: number
  /** Payment hashes already seen, shared across sessions of this process. */
  seenHashes?: Set<string>
  /**
   * The most routing fee one payment may cost, in msat (default 0): an invoice whose route hints
   * would charge more is refused, and the budget check keeps this much in reserve.
   */
  maxFeeMsat?: number
  now?: () => number
}

export interface ApprovedTick {
  seq: number
  amountMsat: number
  invoice: DecodedInvoice
  bolt11: string
  /** A bill re-sent after a resume that this session already paid: acknowledge, never pay again. */
  paidPreimage: string | null
}

/** Refuse invoices that expire this soon: the payment could not complete in time. */
const EXPIRY_MARGIN_S = 2

export class TickGuard {
  readonly amountMsat: number
  readonly budgetMsat: number
  readonly maxFeeMsat: number
  /** Everything the wallet paid: invoice amounts plus routing fees. */
  spentMsat = 0
  /** The routing fees within `spentMsat`. */
  feesMsat = 0
  /** Invoices the wallet may have paid without saying so (PAYMENT_PENDING, never settled): not in `spentMsat`. */
  pendingMsat = 0
  ticksPaid = 0
  private nextSeq = 0
  private highestPaidSeq = -1
  private payee: string | null = null
  /** A fee the wallet charged above the limit: nothing more is paid. */
  private feeOverLimit: number | null = null
  /** What this session paid, by seq: a paid period comes back only with its own invoice. */
  private readonly paidBySeq = new Map<number, { paymentHash: string; preimage: string }>()
  private readonly terms: GuardTerms
  private readonly seen: Set<string>
  private readonly now: () => number

  constructor(terms: GuardTerms) {
    this.terms = terms
    this.amountMsat = tickAmountMsat(terms.satsPerMinute, terms.tickSeconds)
    this.budgetMsat = terms.budgetSats * 1000
    this.maxFeeMsat = terms.maxFeeMsat ?? 0
    this.seen = terms.seenHashes ?? new Set()
    this.now = terms.now ?? Date.now
  }

  /** Whether the budget covers one more tick and the most its routing may cost. */
  canAffordNext(): boolean {
    return this.spentMsat + this.pendingMsat + this.amountMsat + this.maxFeeMsat <= this.budgetMsat
  }

  /** The invoice amounts paid, without fees: what the provider was paid (session_end.msatPaid). */
  get ticksMsat(): number {
    return this.spentMsat - this.feesMsat
  }

  /** Seconds since t = 0 up to which the session is paid. */
  get paidUntil(): number {
    return this.ticksPaid * this.terms.tickSeconds
  }

  /** Checks a tick; throws a WalletError naming the failed check. The tick is consumed either way. */
  check(tick: Tick): ApprovedTick {
    if (this.feeOverLimit !== null) throw WalletError.FEE_TOO_HIGH(this.feeOverLimit, this.maxFeeMsat, true)
    const T = this.terms.tickSeconds
    const seq = this.nextSeq
    this.nextSeq++
    if (tick.seq !== seq) throw WalletError.TICK_OUT_OF_ORDER(`tick ${tick.seq} arrived, tick ${seq} was due`)
    if (tick.periodStart !== seq * T || tick.periodEnd !== (seq + 1) * T) {
      throw WalletError.TICK_OUT_OF_ORDER(
        `tick ${seq} bills [${tick.periodStart}, ${tick.periodEnd}) s, it should bill [${seq * T}, ${(seq + 1) * T}) s`
      )
    }
    const early = this.terms.startedAt + tickDueMs(seq, T) - earlyToleranceMs(T) - this.now()
    if (early > 0) throw WalletError.TICK_TOO_EARLY(seq, Math.round(early + earlyToleranceMs(T)))
    if (tick.amountMsat !== this.amountMsat)
      throw WalletError.INVOICE_AMOUNT_MISMATCH(String(tick.amountMsat), this.amountMsat)

    const invoice = decodeInvoice(tick.bolt11)
    if (invoice.network !== this.terms.network)
      throw WalletError.INVOICE_NETWORK_MISMATCH(invoice.network, this.terms.network)
    if (invoice.amountMsat !== String(this.amountMsat))
      throw WalletError.INVOICE_AMOUNT_MISMATCH(invoice.amountMsat ?? 'any amount', this.amountMsat)
    // A paid seq re-sent after a resume: its own invoice is acknowledged with the stored preimage,
    // any other invoice would bill the same period twice.
    const paid = this.paidBySeq.get(seq)
    if (paid?.paymentHash === invoice.paymentHash)
      return { seq, amountMsat: this.amountMsat, invoice, bolt11: tick.bolt11, paidPreimage: paid.preimage }
    if (paid) throw WalletError.TICK_ALREADY_PAID(seq)
    if (invoice.expiresAt - EXPIRY_MARGIN_S <= Math.floor(this.now() / 1000))
      throw WalletError.INVOICE_EXPIRED(invoice.expiresAt)
    if (this.seen.has(invoice.paymentHash)) throw WalletError.INVOICE_HASH_REUSED(invoice.paymentHash)
    this.seen.add(invoice.paymentHash)
    if (this.payee === null) this.payee = invoice.payeeNodeKey
    else if (invoice.payeeNodeKey !== this.payee)
      throw WalletError.INVOICE_PAYEE_CHANGED(invoice.payeeNodeKey, this.payee)
    const fee = routeHintFeeMsat(invoice, this.amountMsat)
    if (fee > this.maxFeeMsat) throw WalletError.FEE_TOO_HIGH(fee, this.maxFeeMsat, false)
    if (!this.canAffordNext())
      throw WalletError.BUDGET_EXHAUSTED(
        this.spentMsat + this.pendingMsat,
        this.amountMsat + this.maxFeeMsat,
        this.budgetMsat
      )
    return { seq, amountMsat: this.amountMsat, invoice, bolt11: tick.bolt11, paidPreimage: null }
  }

  /** Records a payment the wallet confirmed, with the routing fee it reported. */
  paid(tick: ApprovedTick, preimage: string, feesMsat = 0): void {
    if (this.paidBySeq.has(tick.seq)) return
    this.paidBySeq.set(tick.seq, { paymentHash: tick.invoice.paymentHash, preimage })
    this.spentMsat += tick.amountMsat + feesMsat
    this.feesMsat += feesMsat
    this.ticksPaid++
    this.highestPaidSeq = Math.max(this.highestPaidSeq, tick.seq)
    if (feesMsat > this.maxFeeMsat) this.feeOverLimit = feesMsat
  }

  /**
   * Records a payment the wallet may have made but never confirmed nor denied. It is never paid
   * again (its seq and hash are consumed), and its amount counts against the budget as if paid.
   */
  pending(tick: ApprovedTick): void {
    if (this.paidBySeq.has(tick.seq)) return
    this.pendingMsat += tick.amountMsat
  }

  /**
   * After a resume, ticks continue at the provider's `nextSeq` (re-sent bills first). It may be the
   * last paid seq (its tick_ack can have been lost with the connection), never below it.
   */
  resume(nextSeq: number): void {
    if (nextSeq < this.highestPaidSeq) throw WalletError.RESUME_REWOUND(nextSeq, this.ticksPaid)
    this.nextSeq = nextSeq
  }
}

/**
 * The routing fee the dearest of the invoice's route hints would add to a payment of `amountMsat`:
 * the BOLT #7 fee (base + amount × ppm / 10^6) of each hop, from the payee back. The wallet may take
 * any of the hints, so the dearest counts. Exact in bigint; capped at 2^53 − 1.
 */
export function routeHintFeeMsat(invoice: DecodedInvoice, amountMsat: number): number {
  let worst = 0n
  for (const route of invoice.routeHints) {
    let forwarded = BigInt(amountMsat)
    for (let i = route.length - 1; i >= 0; i--) {
      const hop = route[i] as DecodedInvoice['routeHints'][number][number]
      forwarded += BigInt(hop.feeBaseMsat) + (forwarded * BigInt(hop.feeProportionalMillionths)) / 1_000_000n
    }
    const fee = forwarded - BigInt(amountMsat)
    if (fee > worst) worst = fee
  }
  return worst > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(worst)
}
