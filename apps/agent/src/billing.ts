// One paid session on the provider's side (SPEC §5.2-5.3): bill every period ahead, verify every
// payment before it counts, serve tunnel streams only while paid, suspend after the grace, end
// after twice the grace. The provider alone sets the price; nothing the customer sends changes it.

import { randomBytes } from 'node:crypto'
import { MAX_OUTSTANDING_TICKS, PAYMENT_FREE, tickAmountMsat, type SessionChannel, type TickAck } from '@2020117/protocol'
import { Tunnel, type TunnelStream } from '@2020117/tunnel'
import { preimageMatches, type NwcWallet, invoiceFromLightningAddress } from '@2020117/wallet'
import type { Logger } from '@2020117/cli'

export interface Invoicer {
  make(amountMsat: number, description: string): Promise<{ bolt11: string; paymentHash: string }>
  /** Whether the wallet confirms the invoice settled; null if this invoicer cannot tell. */
  settled(paymentHash: string): Promise<boolean | null>
}

export function nwcInvoicer(wallet: NwcWallet, expirySecs: number): Invoicer {
  return {
    async make(amountMsat, description) {
      const inv = await wallet.makeInvoice(amountMsat, description, expirySecs)
      return { bolt11: inv.invoice, paymentHash: inv.paymentHash }
    },
    async settled(paymentHash) {
      return (await wallet.lookup(paymentHash)).settled
    }
  }
}

export function lightningAddressInvoicer(address: string): Invoicer {
  return {
    async make(amountMsat, description) {
      const { invoice, decoded } = await invoiceFromLightningAddress(address, amountMsat, description)
      return { bolt11: invoice, paymentHash: decoded.paymentHash }
    },
    async settled() {
      return null
    }
  }
}

export interface SessionTerms {
  kind: number
  satsPerMinute: number
  tickSeconds: number
  graceSeconds: number
  paymentMethod: string
}

export interface SessionSummary {
  sessionId: string
  kind: number
  reason: string
  by: 'customer' | 'provider'
  ticksPaid: number
  msatPaid: number
  durationMs: number
}

interface Bill {
  seq: number
  amountMsat: number
  paymentHash: string
  sentAt: number
  paid: boolean
}

export class ProviderSession {
  readonly id: Uint8Array
  readonly idHex: string
  readonly terms: SessionTerms
  readonly tunnel: Tunnel
  readonly startedAt: number
  ticksPaid = 0
  msatPaid = 0
  /** Seconds since start up to which payment is verified. */
  paidUntil = 0
  suspended = false
  ended: SessionSummary | null = null
  private readonly channel: SessionChannel
  private readonly invoicer: Invoicer | null
  private readonly log: Logger
  private readonly bills = new Map<number, Bill>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly onend: (s: ProviderSession) => void
  private nextSeq = 0
  private receipted = false
  private billing = false
  /** Billing paused at the unpaid limit; the next payment resumes it. */
  private billWhenPaid = false

  constructor(opts: {
    channel: SessionChannel
    terms: SessionTerms
    invoicer: Invoicer | null
    log: Logger
    serve: (stream: TunnelStream) => void
    onend: (s: ProviderSession) => void
  }) {
    this.channel = opts.channel
    this.terms = opts.terms
    this.invoicer = opts.invoicer
    this.log = opts.log
    this.onend = opts.onend
    this.id = randomBytes(16)
    this.idHex = Buffer.from(this.id).toString('hex')
    this.startedAt = Date.now()
    this.tunnel = new Tunnel(opts.channel, { admit: () => this.admit() })
    this.tunnel.on('stream', opts.serve)
    opts.channel.on('tick_ack', (ack: TickAck) => void this.onTickAck(ack))
    opts.channel.on('session_end', (m) => this.finish(m.reason, 'customer'))
    // A clean close follows a session_end, which already ended the session; anything else is a drop.
    opts.channel.on('close', (err) => {
      if (err) this.finish(err.code === 'CHANNEL_CLOSED' ? 'CUSTOMER_GONE' : (err.remoteCode ?? err.code), 'customer')
    })
  }

  get free(): boolean {
    return this.terms.paymentMethod === PAYMENT_FREE
  }

  get amountMsat(): number {
    return tickAmountMsat(this.terms.satsPerMinute, this.terms.tickSeconds)
  }

  /** Acknowledges the session and sends the first bill at once: billing is ahead of use. */
  start(): void {
    this.channel.send({
      type: 'session_ack',
      sessionId: this.id,
      satsPerMinute: this.terms.satsPerMinute,
      tickSeconds: this.terms.tickSeconds,
      graceSeconds: this.terms.graceSeconds,
      resumeSecret: randomBytes(32)
    })
    this.log.info('session started', { session: this.idHex.slice(0, 8), kind: this.terms.kind, satsPerMinute: this.terms.satsPerMinute, tickSeconds: this.terms.tickSeconds })
    if (!this.free) void this.bill()
  }

  /** Ends the session from the provider's side. */
  end(reason: string, message: string): void {
    if (this.ended) return
    try {
      this.channel.send({
        type: 'session_end',
        sessionId: this.id,
        by: 'provider',
        reason,
        message: message.slice(0, 1000),
        ticksPaid: this.ticksPaid,
        msatPaid: this.msatPaid,
        durationMs: Date.now() - this.startedAt
      })
    } catch {}
    this.finish(reason, 'provider')
  }

  /** The gate: a stream is served only once paid, and not while a bill is overdue. */
  private admit(): string | null {
    if (this.ended) return 'SESSION_ENDED'
    if (this.free) return null
    if (!this.receipted || this.suspended) return 'PAYMENT_REQUIRED'
    const paidUntilMs = this.startedAt + (this.paidUntil + this.terms.graceSeconds) * 1000
    return Date.now() < paidUntilMs ? null : 'PAYMENT_REQUIRED'
  }

  /**
   * Sends the next bill. Bills are strictly sequential (never two invoices in the making), each
   * is due at start + seq × T so periods never drift, and at the unpaid limit billing waits for a
   * payment (or the grace to run out) instead of retrying.
   */
  private async bill(): Promise<void> {
    if (this.ended || this.billing) return
    const unpaid = [...this.bills.values()].filter((b) => !b.paid).length
    if (unpaid >= MAX_OUTSTANDING_TICKS) {
      this.billWhenPaid = true
      return
    }
    this.billing = true
    const seq = this.nextSeq++
    const T = this.terms.tickSeconds
    const amountMsat = this.amountMsat
    try {
      const invoice = await (this.invoicer as Invoicer).make(amountMsat, `2020117 session ${this.idHex.slice(0, 8)} tick ${seq}`)
      if (this.ended) return
      const bill: Bill = { seq, amountMsat, paymentHash: invoice.paymentHash, sentAt: Date.now(), paid: false }
      this.bills.set(seq, bill)
      this.channel.send({ type: 'tick', sessionId: this.id, seq, amountMsat, bolt11: invoice.bolt11, periodStart: seq * T, periodEnd: (seq + 1) * T })
      this.log.debug('tick sent', { session: this.idHex.slice(0, 8), seq, amountMsat })
      const G = this.terms.graceSeconds * 1000
      this.later(G, () => {
        if (!bill.paid && !this.ended) {
          this.suspended = true
          this.log.warn('tick unpaid after grace: new streams suspended', { session: this.idHex.slice(0, 8), seq })
        }
      })
      this.later(2 * G, () => {
        if (!bill.paid) this.end('UNPAID', `tick ${seq} was not paid within ${2 * this.terms.graceSeconds} s`)
      })
      this.later(this.startedAt + (seq + 1) * T * 1000 - Date.now(), () => void this.bill())
    } catch (err) {
      this.log.error('could not bill', { error: (err as Error).message })
      this.end('PROVIDER_ERROR', 'the provider could not create or send an invoice')
    } finally {
      this.billing = false
    }
  }

  private async onTickAck(ack: TickAck): Promise<void> {
    const bill = this.bills.get(ack.seq)
    if (!bill || bill.paid || this.ended) return
    if (!preimageMatches(ack.preimage, bill.paymentHash)) {
      this.end('UNPAID', `the preimage for tick ${ack.seq} does not match its payment hash`)
      return
    }
    let settled: boolean | null = null
    try {
      settled = await (this.invoicer as Invoicer).settled(bill.paymentHash)
    } catch (err) {
      this.log.warn('lookup_invoice failed; relying on the preimage', { error: (err as Error).message })
    }
    if (settled === false) {
      this.end('UNPAID', `the wallet does not show tick ${ack.seq} as settled`)
      return
    }
    if (this.ended) return
    bill.paid = true
    this.ticksPaid++
    this.msatPaid += bill.amountMsat
    this.paidUntil = Math.max(this.paidUntil, (ack.seq + 1) * this.terms.tickSeconds)
    this.suspended = [...this.bills.values()].some((b) => !b.paid && Date.now() - b.sentAt > this.terms.graceSeconds * 1000)
    this.receipted = true
    try {
      this.channel.send({ type: 'tick_receipt', sessionId: this.id, seq: ack.seq, paidUntil: this.paidUntil })
    } catch {
      return // the channel closed under us; its close handler ends the session
    }
    this.log.info('tick paid', { session: this.idHex.slice(0, 8), seq: ack.seq, msat: bill.amountMsat, paidUntil: this.paidUntil })
    if (this.billWhenPaid) {
      this.billWhenPaid = false
      void this.bill()
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, Math.max(0, ms))
    this.timers.add(t)
  }

  private finish(reason: string, by: 'customer' | 'provider'): void {
    if (this.ended) return
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.ended = { sessionId: this.idHex, kind: this.terms.kind, reason, by, ticksPaid: this.ticksPaid, msatPaid: this.msatPaid, durationMs: Date.now() - this.startedAt }
    this.tunnel.destroy('SESSION_ENDED')
    this.channel.close()
    this.log.info('session ended', { session: this.idHex.slice(0, 8), reason, by, ticksPaid: this.ticksPaid, msatPaid: this.msatPaid })
    this.onend(this)
  }
}
