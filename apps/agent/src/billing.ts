// One paid session on the provider's side (SPEC §5.2-5.3): bill every period ahead, verify every
// payment before it counts, serve tunnel streams only while paid, suspend after the grace, end
// after twice the grace. The provider alone sets the price; nothing the customer sends changes it.

import { randomBytes, timingSafeEqual } from 'node:crypto'
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
  resumes: number
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
  bolt11: string
  sentAt: number
  paid: boolean
}

export class ProviderSession {
  readonly id: Uint8Array
  readonly idHex: string
  readonly terms: SessionTerms
  tunnel: Tunnel
  readonly startedAt: number
  /** How many times the customer came back after a drop. */
  resumes = 0
  ticksPaid = 0
  msatPaid = 0
  /** Seconds since start up to which payment is verified. */
  paidUntil = 0
  suspended = false
  /** The final record, once the session is over and every payment check has finished. */
  ended: SessionSummary | null = null
  /** Set at the end: no more billing, serving or receipts. */
  private closing = false
  private readonly verifying = new Set<Promise<void>>()

  get over(): boolean {
    return this.closing
  }
  private channel: SessionChannel
  /** The connection dropped; the session waits for a resume until `detachTimer` fires. */
  private detached = false
  private detachTimer: NodeJS.Timeout | null = null
  private readonly resumeSecret = randomBytes(32)
  private readonly serve: (stream: TunnelStream) => void
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
    this.serve = opts.serve
    this.id = randomBytes(16)
    this.idHex = Buffer.from(this.id).toString('hex')
    this.startedAt = Date.now()
    this.tunnel = this.bind(opts.channel)
  }

  private bind(channel: SessionChannel): Tunnel {
    const tunnel = new Tunnel(channel, { admit: () => this.admit() })
    tunnel.on('stream', this.serve)
    channel.on('tick_ack', (ack: TickAck) => void this.onTickAck(ack))
    channel.on('session_end', (m) => this.finish(m.reason, 'customer'))
    // A clean close follows a session_end, which already ended the session. A dropped connection
    // detaches the session, which waits for the customer to resume; a protocol violation ends it.
    channel.on('close', (err) => {
      if (channel !== this.channel || !err) return
      if (err.code === 'CHANNEL_CLOSED') this.detach()
      else this.finish(err.remoteCode ?? err.code, 'customer')
    })
    return tunnel
  }

  /** Whether `secret` is this session's resume secret. */
  owns(secret: Uint8Array): boolean {
    return secret.byteLength === this.resumeSecret.byteLength && timingSafeEqual(secret, this.resumeSecret)
  }

  /** Continues the session on a new channel after a drop (SPEC §5.5). */
  attach(channel: SessionChannel): void {
    if (this.closing) return
    if (this.detachTimer) clearTimeout(this.detachTimer)
    this.detachTimer = null
    const old = this.channel
    this.channel = channel
    this.detached = false
    this.tunnel.destroy('SESSION_RESUMED')
    if (!old.closed) old.close()
    this.tunnel = this.bind(channel)
    this.resumes++
    const unpaid = [...this.bills.values()].filter((b) => !b.paid).sort((a, b) => a.seq - b.seq)
    channel.send({
      type: 'session_resumed',
      sessionId: this.id,
      satsPerMinute: this.terms.satsPerMinute,
      tickSeconds: this.terms.tickSeconds,
      graceSeconds: this.terms.graceSeconds,
      nextSeq: unpaid[0]?.seq ?? this.nextSeq,
      paidUntil: this.paidUntil,
      elapsedMs: Date.now() - this.startedAt
    })
    // Bills the customer may not have seen go out again, same seq and invoice: never a new charge.
    for (const b of unpaid) this.sendTick(b)
    this.log.info('session resumed', { session: this.idHex.slice(0, 8), resumes: this.resumes, unpaid: unpaid.length, paidUntil: this.paidUntil })
  }

  private detach(): void {
    if (this.closing || this.detached) return
    this.detached = true
    this.tunnel.destroy('CONNECTION_LOST')
    const wait = 2 * this.terms.graceSeconds
    this.log.warn(`connection lost: keeping the session ${wait} s for the customer to resume`, { session: this.idHex.slice(0, 8) })
    this.detachTimer = setTimeout(() => this.finish('CUSTOMER_GONE', 'customer'), wait * 1000)
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
      resumeSecret: this.resumeSecret
    })
    this.log.info('session started', { session: this.idHex.slice(0, 8), kind: this.terms.kind, satsPerMinute: this.terms.satsPerMinute, tickSeconds: this.terms.tickSeconds })
    if (!this.free) void this.bill()
  }

  /** Ends the session from the provider's side. */
  end(reason: string, message: string): void {
    if (this.closing) return
    if (!this.detached) try {
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
    if (this.closing) return 'SESSION_ENDED'
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
    if (this.closing || this.billing) return
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
      if (this.closing) return
      const bill: Bill = { seq, amountMsat, paymentHash: invoice.paymentHash, bolt11: invoice.bolt11, sentAt: Date.now(), paid: false }
      this.bills.set(seq, bill)
      // While detached the bill is kept and goes out on resume; its grace runs all the same.
      if (!this.detached) this.sendTick(bill)
      const G = this.terms.graceSeconds * 1000
      this.later(G, () => {
        if (!bill.paid && !this.closing) {
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

  private sendTick(bill: Bill): void {
    const T = this.terms.tickSeconds
    this.channel.send({ type: 'tick', sessionId: this.id, seq: bill.seq, amountMsat: bill.amountMsat, bolt11: bill.bolt11, periodStart: bill.seq * T, periodEnd: (bill.seq + 1) * T })
    this.log.debug('tick sent', { session: this.idHex.slice(0, 8), seq: bill.seq, amountMsat: bill.amountMsat })
  }

  private onTickAck(ack: TickAck): Promise<void> {
    const check = this.verify(ack)
    this.verifying.add(check)
    return check.finally(() => this.verifying.delete(check))
  }

  private async verify(ack: TickAck): Promise<void> {
    const bill = this.bills.get(ack.seq)
    // Checked even while closing: a settled payment counts until the record is final.
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
    bill.paid = true
    this.ticksPaid++
    this.msatPaid += bill.amountMsat
    if (this.closing) return
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
    if (this.closing) return
    if (this.detachTimer) clearTimeout(this.detachTimer)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.closing = true
    const durationMs = Date.now() - this.startedAt
    this.tunnel.destroy('SESSION_ENDED')
    this.channel.close()
    // A payment acknowledged just before the end may still be under verification; it settled, so
    // it counts. The record is final once those checks are done.
    void Promise.allSettled([...this.verifying]).then(() => {
      this.ended = { sessionId: this.idHex, kind: this.terms.kind, reason, by, ticksPaid: this.ticksPaid, msatPaid: this.msatPaid, durationMs, resumes: this.resumes }
      this.log.info('session ended', { session: this.idHex.slice(0, 8), reason, by, ticksPaid: this.ticksPaid, msatPaid: this.msatPaid })
      this.onend(this)
    })
  }
}
