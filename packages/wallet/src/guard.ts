// The customer's last line of defence (SPEC §5.4): a tick is paid only if every check passes.
// Checks run before any money moves, in a fixed order, and each refusal names its check.

import { earlyToleranceMs, tickAmountMsat, type Tick } from '@2020117/protocol'
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
  spentMsat = 0
  ticksPaid = 0
  private nextSeq = 0
  private payee: string | null = null
  /** Invoices this session paid, by payment hash, so a re-sent bill is never paid twice. */
  private readonly paidPreimages = new Map<string, { seq: number; preimage: string }>()
  private readonly terms: GuardTerms
  private readonly seen: Set<string>
  private readonly now: () => number

  constructor(terms: GuardTerms) {
    this.terms = terms
    this.amountMsat = tickAmountMsat(terms.satsPerMinute, terms.tickSeconds)
    this.budgetMsat = terms.budgetSats * 1000
    this.seen = terms.seenHashes ?? new Set()
    this.now = terms.now ?? Date.now
  }

  /** Whether the budget covers one more tick. */
  canAffordNext(): boolean {
    return this.spentMsat + this.amountMsat <= this.budgetMsat
  }

  /** Seconds since t = 0 up to which the session is paid. */
  get paidUntil(): number {
    return this.ticksPaid * this.terms.tickSeconds
  }

  /** Checks a tick; throws a WalletError naming the failed check. The tick is consumed either way. */
  check(tick: Tick): ApprovedTick {
    const T = this.terms.tickSeconds
    const seq = this.nextSeq
    this.nextSeq++
    if (tick.seq !== seq) throw WalletError.TICK_OUT_OF_ORDER(`tick ${tick.seq} arrived, tick ${seq} was due`)
    if (tick.periodStart !== seq * T || tick.periodEnd !== (seq + 1) * T) {
      throw WalletError.TICK_OUT_OF_ORDER(`tick ${seq} bills [${tick.periodStart}, ${tick.periodEnd}) s, it should bill [${seq * T}, ${(seq + 1) * T}) s`)
    }
    const early = this.terms.startedAt + seq * T * 1000 - earlyToleranceMs(T) - this.now()
    if (early > 0) throw WalletError.TICK_TOO_EARLY(seq, Math.round(early + earlyToleranceMs(T)))
    if (tick.amountMsat !== this.amountMsat) throw WalletError.INVOICE_AMOUNT_MISMATCH(String(tick.amountMsat), this.amountMsat)

    const invoice = decodeInvoice(tick.bolt11)
    if (invoice.network !== this.terms.network) throw WalletError.INVOICE_NETWORK_MISMATCH(invoice.network, this.terms.network)
    if (invoice.amountMsat !== String(this.amountMsat)) throw WalletError.INVOICE_AMOUNT_MISMATCH(invoice.amountMsat ?? 'any amount', this.amountMsat)
    // The same bill (seq and invoice) re-sent after a resume was paid already; any other reuse of a
    // paid hash is refused below.
    const paid = this.paidPreimages.get(invoice.paymentHash)
    if (paid?.seq === seq) return { seq, amountMsat: this.amountMsat, invoice, bolt11: tick.bolt11, paidPreimage: paid.preimage }
    if (invoice.expiresAt - EXPIRY_MARGIN_S <= Math.floor(this.now() / 1000)) throw WalletError.INVOICE_EXPIRED(invoice.expiresAt)
    if (this.seen.has(invoice.paymentHash)) throw WalletError.INVOICE_HASH_REUSED(invoice.paymentHash)
    this.seen.add(invoice.paymentHash)
    if (this.payee === null) this.payee = invoice.payeeNodeKey
    else if (invoice.payeeNodeKey !== this.payee) throw WalletError.INVOICE_PAYEE_CHANGED(invoice.payeeNodeKey, this.payee)
    if (this.spentMsat + this.amountMsat > this.budgetMsat) throw WalletError.BUDGET_EXHAUSTED(this.spentMsat, this.amountMsat, this.budgetMsat)
    return { seq, amountMsat: this.amountMsat, invoice, bolt11: tick.bolt11, paidPreimage: null }
  }

  /** Records a payment the wallet confirmed. */
  paid(tick: ApprovedTick, preimage: string): void {
    if (this.paidPreimages.has(tick.invoice.paymentHash)) return
    this.paidPreimages.set(tick.invoice.paymentHash, { seq: tick.seq, preimage })
    this.spentMsat += tick.amountMsat
    this.ticksPaid++
  }

  /** After a resume, ticks continue at the provider's `nextSeq` (re-sent bills first). */
  resume(nextSeq: number): void {
    this.nextSeq = nextSeq
  }
}
