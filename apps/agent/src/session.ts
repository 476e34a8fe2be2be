// One paid session on the provider's side (SPEC §5.2-5.5): bill every period ahead, verify every
// payment before it counts, serve tunnel streams only while paid, stop every stream from carrying
// data at paidUntil + grace, end after twice the grace. The provider alone sets the price; nothing
// the customer sends changes it.
//
// Invariants:
// - A payment counts once: one check per bill, whichever channels acknowledge it, and one claim of
//   its payment hash in the provider's record, across sessions and restarts (credited.ts).
// - Bills are counted paid in seq order, so the unpaid bills are the newest, contiguous and at most
//   MAX_OUTSTANDING_TICKS: exactly what a resumed channel takes again.
// - A wallet that fails or does not answer is asked again, with backoff, while the grace lasts; it
//   is not a failure until then (SPEC §5.3).
// - Nothing a peer sends throws out of a listener here: a failure ends this session, not the agent.

import { randomBytes, timingSafeEqual } from 'node:crypto'
import {
  MAX_OUTSTANDING_TICKS,
  tickInvoiceDescription,
  PAYMENT_FREE,
  tickAmountMsat,
  tickDueMs,
  type SessionChannel,
  type SessionEndReason,
  type StreamResetCode,
  type TickAck
} from '@2020117/protocol'
import { Tunnel, type TunnelStream } from '@2020117/tunnel'
import { decodeInvoice, preimageMatches, type NwcWallet, invoiceFromLightningAddress } from '@2020117/wallet'
import type { Logger } from '@2020117/cli'
import type { ClaimRecord } from '@2020117/files'

export interface MadeInvoice {
  bolt11: string
  paymentHash: string
  /** Unix seconds. */
  expiresAt: number
}

export interface Invoicer {
  make(amountMsat: number, description: string): Promise<MadeInvoice>
  /** Whether the wallet confirms the invoice settled; null if this invoicer cannot tell. */
  settled(paymentHash: string): Promise<boolean | null>
  /** Records `paymentHash` as credited; false if it already was, by any session, before any restart. */
  claim(paymentHash: string, expiresAt: number): Promise<boolean>
}

/** An invoice whose hash was credited before is a replay, whoever made it: never bill it again. */
function fresh(credited: ClaimRecord, invoice: MadeInvoice): MadeInvoice {
  if (credited.has(invoice.paymentHash)) {
    throw new Error(`the invoice for payment hash ${invoice.paymentHash.slice(0, 16)}… was paid before`)
  }
  return invoice
}

export function nwcInvoicer(wallet: NwcWallet, expirySecs: number, credited: ClaimRecord): Invoicer {
  return {
    async make(amountMsat, description) {
      const inv = await wallet.makeInvoice(amountMsat, description, expirySecs)
      const expiresAt = decodeInvoice(inv.invoice).expiresAt
      return fresh(credited, { bolt11: inv.invoice, paymentHash: inv.paymentHash, expiresAt })
    },
    async settled(paymentHash) {
      return (await wallet.lookup(paymentHash)).settled
    },
    claim: (paymentHash, expiresAt) => credited.claim(paymentHash, expiresAt)
  }
}

export function lightningAddressInvoicer(address: string, credited: ClaimRecord): Invoicer {
  return {
    async make(amountMsat, description) {
      const { invoice, decoded } = await invoiceFromLightningAddress(address, amountMsat, description)
      return fresh(credited, { bolt11: invoice, paymentHash: decoded.paymentHash, expiresAt: decoded.expiresAt })
    },
    async settled() {
      return null
    },
    claim: (paymentHash, expiresAt) => credited.claim(paymentHash, expiresAt)
  }
}

/** Waits between tries of a wallet request: 0.25 s, doubling, at most 5 s. */
function backoffMs(attempt: number): number {
  return Math.min(5000, 250 * 2 ** attempt)
}

function messageOf(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown } } | null
  const text = String(e?.cause?.message ?? e?.message ?? err)
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 300)
}

export interface SessionTerms {
  kind: number
  satsPerMinute: number
  tickSeconds: number
  graceSeconds: number
  paymentMethod: string
  /** The provider's npub, and the customer's if it said who it is: every invoice names them (SPEC §11.3). */
  payee: string
  payer: string | null
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
  expiresAt: number
  sentAt: number
  paid: boolean
  /** The one check of this bill's payment, shared by every ack of it; true once it counted. */
  check: Promise<boolean> | null
  /** The channel its receipt went out on: a resumed channel that acks it again gets its own. */
  receiptOn: SessionChannel | null
}

export class ProviderSession {
  readonly id: Uint8Array
  readonly idHex: string
  readonly terms: SessionTerms
  tunnel: Tunnel
  /** The session's t = 0: its ack, then (paid) the moment its first invoice got its turn (SPEC §5.3.2). */
  startedAt: number
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
  /** Waits between wallet retries; the end wakes them all. */
  private readonly sleepers = new Set<() => void>()
  private readonly onend: (s: ProviderSession) => void
  /** The turn of the first invoice in the global rate's queue (false: the session ended first). */
  private readonly firstTurn: Promise<boolean>
  private readonly onfirstbill: () => void
  private nextSeq = 0
  /** Payment checks run one after another, in the order of the acks: bills are paid in seq order. */
  private checks: Promise<unknown> = Promise.resolve()
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
    firstTurn?: Promise<boolean>
    /** Tick 0 exists (sent, or kept for a resume): the first-payment deadline starts. */
    onfirstbill?: () => void
  }) {
    this.channel = opts.channel
    this.terms = opts.terms
    this.invoicer = opts.invoicer
    this.log = opts.log
    this.onend = opts.onend
    this.serve = opts.serve
    this.firstTurn = opts.firstTurn ?? Promise.resolve(true)
    this.onfirstbill = opts.onfirstbill ?? (() => {})
    this.id = randomBytes(16)
    this.idHex = Buffer.from(this.id).toString('hex')
    this.startedAt = Date.now()
    this.tunnel = this.bind(opts.channel)
  }

  private get tag(): string {
    return this.idHex.slice(0, 8)
  }

  private bind(channel: SessionChannel): Tunnel {
    const tunnel = new Tunnel(channel, { admit: () => this.admit(), carries: () => this.carries() })
    tunnel.on('stream', (stream: TunnelStream) => {
      // A reset is routine for a stream, not an error of the process, whoever serves it (or fails to).
      stream.on('error', () => {})
      this.guard('serving a stream', () => this.serve(stream))
    })
    channel.on('tick_ack', (ack: TickAck) => this.onTickAck(ack, channel))
    channel.on('session_end', (m) => channel === this.channel && this.finish(m.reason, 'customer'))
    // A clean close follows a session_end, which already ended the session. A dropped connection
    // detaches the session, which waits for the customer to resume; a protocol violation ends it.
    channel.on('close', (err) => {
      if (channel !== this.channel || !err) return
      if (err.code === 'CHANNEL_CLOSED') this.detach()
      else if (err.code === 'INTERNAL_ERROR') this.fail('handling a frame', err)
      else this.finish(err.remoteCode ?? err.code, 'customer')
    })
    return tunnel
  }

  /** Whether `secret` is this session's resume secret. */
  owns(secret: Uint8Array): boolean {
    return secret.byteLength === this.resumeSecret.byteLength && timingSafeEqual(secret, this.resumeSecret)
  }

  /** Continues the session on a new channel after a drop (SPEC §5.5). Never throws: a failure ends this session. */
  attach(channel: SessionChannel): void {
    if (this.closing) return
    this.guard('resuming the session', () => this.reattach(channel))
  }

  private reattach(channel: SessionChannel): void {
    if (this.detachTimer) clearTimeout(this.detachTimer)
    this.detachTimer = null
    const old = this.channel
    this.channel = channel
    this.detached = false
    this.tunnel.destroy('SESSION_RESUMED')
    if (!old.closed) old.close()
    this.tunnel = this.bind(channel)
    this.resumes++
    const unpaid = this.unpaid()
    channel.send({
      type: 'session_resumed',
      sessionId: this.id,
      satsPerMinute: this.terms.satsPerMinute,
      tickSeconds: this.terms.tickSeconds,
      graceSeconds: this.terms.graceSeconds,
      // A tick whose invoice is being made has its seq only once made: it is the next one.
      nextSeq: unpaid[0]?.seq ?? this.nextSeq,
      paidUntil: this.paidUntil,
      elapsedMs: Date.now() - this.startedAt
    })
    // Bills the customer may not have seen go out again, same seq and invoice: never a new charge.
    for (const b of unpaid) this.sendTick(b)
    this.log.info('session resumed', {
      session: this.tag,
      resumes: this.resumes,
      unpaid: unpaid.length,
      paidUntil: this.paidUntil
    })
  }

  private detach(): void {
    if (this.closing || this.detached) return
    this.detached = true
    this.tunnel.destroy('CONNECTION_LOST')
    const wait = 2 * this.terms.graceSeconds
    this.log.warn(`connection lost: keeping the session ${wait} s for the customer to resume`, { session: this.tag })
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
    this.log.info('session started', {
      session: this.tag,
      kind: this.terms.kind,
      satsPerMinute: this.terms.satsPerMinute,
      tickSeconds: this.terms.tickSeconds
    })
    if (!this.free) void this.bill()
  }

  /** Ends the session from the provider's side. */
  end(reason: SessionEndReason, message: string): void {
    if (this.closing) return
    if (!this.detached)
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

  /** Runs `fn`; if it throws (a bug, on a path a peer can drive), this session ends and nothing escapes. */
  private guard(what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.fail(what, err)
    }
  }

  private fail(what: string, err: unknown): void {
    this.log.error(`failed ${what}: ending this session`, { session: this.tag, error: messageOf(err) })
    this.end('PROVIDER_ERROR', `the provider failed ${what}`)
  }

  /** The gate: a stream is served only once paid, and only while streams carry data. */
  private admit(): StreamResetCode | null {
    if (this.closing) return 'SESSION_ENDED'
    if (this.free) return null
    return this.receipted && this.carries() ? null : 'PAYMENT_REQUIRED'
  }

  /**
   * Whether open streams carry data now (SPEC §4, payment gate): until paidUntil + G, and not while
   * a bill is overdue. Checked on every frame, so the cut-off is exact whatever the timers do.
   */
  private carries(): boolean {
    if (this.closing) return false
    if (this.free) return true
    return !this.suspended && Date.now() < this.startedAt + (this.paidUntil + this.terms.graceSeconds) * 1000
  }

  /**
   * Two bills unpaid, by the provider's count or by the channel's: after a resume, a bill already
   * paid on the dropped channel stays unpaid on the new one until the customer acks it again.
   */
  private atUnpaidLimit(): boolean {
    const onChannel = this.detached ? 0 : this.channel.unpaidTicks.length
    return Math.max(this.unpaid().length, onChannel) >= MAX_OUTSTANDING_TICKS
  }

  /** Billing waited at the unpaid limit: go on once a payment or an ack has made room. */
  private billIfRoom(): void {
    if (!this.billWhenPaid || this.atUnpaidLimit()) return
    this.billWhenPaid = false
    void this.bill()
  }

  private unpaid(): Bill[] {
    return [...this.bills.values()].filter((b) => !b.paid).sort((a, b) => a.seq - b.seq)
  }

  /**
   * Sends the next bill. Bills are strictly sequential (never two invoices in the making), each
   * is due at start + seq × T so periods never drift, and at the unpaid limit billing waits for a
   * payment (or the grace to run out) instead of retrying.
   */
  private async bill(): Promise<void> {
    if (this.closing || this.billing) return
    if (this.atUnpaidLimit()) {
      this.billWhenPaid = true
      return
    }
    this.billing = true
    const seq = this.nextSeq
    try {
      // Tick 0 waits for its turn in the invoice rate, and the periods start from then: a queued
      // customer pays for no time it could not use, and is never billed early by its own clock.
      if (seq === 0 && (!(await this.firstTurn) || this.closing)) return
      if (seq === 0) this.startedAt = Date.now()
      const invoice = await this.makeInvoice(seq)
      if (!invoice || this.closing) return
      // The seq is taken once the invoice exists: a resume meanwhile announced it as the next one.
      this.nextSeq = seq + 1
      const bill: Bill = {
        seq,
        amountMsat: this.amountMsat,
        ...invoice,
        sentAt: Date.now(),
        paid: false,
        check: null,
        receiptOn: null
      }
      this.bills.set(seq, bill)
      // While detached the bill is kept and goes out on resume; its grace runs all the same.
      if (!this.detached) this.sendTick(bill)
      this.watch(bill)
      if (seq === 0) this.onfirstbill()
      this.later(this.startedAt + tickDueMs(seq + 1, this.terms.tickSeconds) - Date.now(), () => void this.bill())
    } catch (err) {
      this.fail('billing', err)
    } finally {
      this.billing = false
    }
  }

  /** The grace of one bill: unpaid after G every stream stops; unpaid after 2G the session ends. */
  private watch(bill: Bill): void {
    const G = this.terms.graceSeconds * 1000
    this.later(G, () => {
      if (bill.paid || this.closing) return
      this.suspended = true
      this.log.warn('tick unpaid after the grace: every stream paused until it is paid', {
        session: this.tag,
        seq: bill.seq
      })
    })
    this.later(2 * G, () => {
      const within = 2 * this.terms.graceSeconds
      const unpaid = () => !bill.paid && this.end('UNPAID', `tick ${bill.seq} was not paid within ${within} s`)
      // A payment the wallet is still confirming is not late: its check decides.
      if (bill.check) void bill.check.then(unpaid, unpaid)
      else unpaid()
    })
  }

  /**
   * make_invoice for tick `seq`, asked again with backoff while it fails: an outage is no failure
   * while the grace lasts. An unpaid tick ends the session 2G after it is due, and a tick the
   * wallet cannot make ends it no sooner. Null once the session is over.
   */
  private async makeInvoice(seq: number): Promise<MadeInvoice | null> {
    const deadline = this.startedAt + tickDueMs(seq, this.terms.tickSeconds) + 2 * this.terms.graceSeconds * 1000
    for (let attempt = 0; ; attempt++) {
      let why: string
      try {
        const invoice = await (this.invoicer as Invoicer).make(
          this.amountMsat,
          tickInvoiceDescription(this.idHex, seq, this.terms.payee, this.terms.payer)
        )
        why = this.unusable(invoice) ?? ''
        if (!why) return invoice
      } catch (err) {
        why = messageOf(err)
      }
      if (this.closing) return null
      const left = deadline - Date.now()
      if (left <= 0) {
        this.log.error('could not bill: the wallet made no invoice within the grace', {
          session: this.tag,
          seq,
          error: why
        })
        // The customer hears what failed, never a secret the wallet's error text might carry.
        const message = `the provider's wallet made no invoice for tick ${seq} within the grace: ${why}`
        this.end('PROVIDER_ERROR', this.log.redact(message))
        return null
      }
      const wait = Math.min(backoffMs(attempt), left)
      this.log.warn(`make_invoice failed; retrying in ${wait} ms`, {
        session: this.tag,
        seq,
        attempt: attempt + 1,
        error: why
      })
      await this.sleep(wait)
      if (this.closing) return null
    }
  }

  /** Why an invoice from the invoicer cannot be billed, or null. */
  private unusable(invoice: MadeInvoice): string | null {
    if (!/^[0-9a-f]{64}$/.test(invoice.paymentHash)) return 'the invoice has no valid payment hash'
    if (invoice.expiresAt * 1000 <= Date.now()) return 'the invoice has already expired'
    const repeated = [...this.bills.values()].some((b) => b.paymentHash === invoice.paymentHash)
    if (repeated) return 'the invoice repeats the payment hash of an earlier tick'
    return null
  }

  private sendTick(bill: Bill): void {
    const T = this.terms.tickSeconds
    this.channel.send({
      type: 'tick',
      sessionId: this.id,
      seq: bill.seq,
      amountMsat: bill.amountMsat,
      bolt11: bill.bolt11,
      periodStart: bill.seq * T,
      periodEnd: (bill.seq + 1) * T
    })
    this.log.debug('tick sent', { session: this.tag, seq: bill.seq, amountMsat: bill.amountMsat })
  }

  private onTickAck(ack: TickAck, channel: SessionChannel): void {
    this.log.debug('tick acked', { session: this.tag, seq: ack.seq })
    if (channel === this.channel) this.billIfRoom()
    const check = this.verify(ack, channel).catch((err) => this.fail('checking a payment', err))
    this.verifying.add(check)
    void check.finally(() => this.verifying.delete(check))
  }

  private async verify(ack: TickAck, channel: SessionChannel): Promise<void> {
    const bill = this.bills.get(ack.seq)
    // Checked even while closing: a settled payment counts until the record is final.
    if (!bill || this.ended) return
    if (!preimageMatches(ack.preimage, bill.paymentHash)) {
      this.end('UNPAID', `the preimage for tick ${ack.seq} does not match its payment hash`)
      return
    }
    // One check per bill, whichever channel acks it, in the order of the acks (SPEC §5.5).
    if (!bill.check) {
      const check = this.checks.then(() => this.settle(bill))
      bill.check = check
      this.checks = check.catch(() => false)
    }
    if (await bill.check) this.receipt(bill, channel)
  }

  /** Asks the wallet, then counts the payment once: its hash is claimed in the provider's record first. */
  private async settle(bill: Bill): Promise<boolean> {
    const settled = await this.lookup(bill)
    if (settled === false) {
      this.end('UNPAID', `the wallet does not show tick ${bill.seq} as settled`)
      return false
    }
    let first = true
    try {
      first = await (this.invoicer as Invoicer).claim(bill.paymentHash, bill.expiresAt)
    } catch (err) {
      const fields = { session: this.tag, error: messageOf(err) }
      this.log.error('could not record the payment hash on disk; counting the payment all the same', fields)
    }
    if (!first) {
      this.end('UNPAID', `the invoice of tick ${bill.seq} was paid before and already counted: pay a fresh invoice`)
      return false
    }
    this.credit(bill)
    return true
  }

  /**
   * The wallet's word on a bill, asked again with backoff while it fails, until the bill's grace
   * is spent. Null if the invoicer cannot tell or never answered: the preimage then stands alone.
   */
  private async lookup(bill: Bill): Promise<boolean | null> {
    const deadline = bill.sentAt + this.terms.graceSeconds * 1000
    for (let attempt = 0; ; attempt++) {
      try {
        return await (this.invoicer as Invoicer).settled(bill.paymentHash)
      } catch (err) {
        const left = deadline - Date.now()
        const fields = { session: this.tag, seq: bill.seq, attempt: attempt + 1, error: messageOf(err) }
        if (this.closing || left <= 0) {
          this.log.warn('lookup_invoice failed; relying on the preimage', fields)
          return null
        }
        const wait = Math.min(backoffMs(attempt), left)
        this.log.warn(`lookup_invoice failed; retrying in ${wait} ms`, fields)
        await this.sleep(wait)
      }
    }
  }

  private credit(bill: Bill): void {
    bill.paid = true
    this.ticksPaid++
    this.msatPaid += bill.amountMsat
    if (this.closing) return
    this.paidUntil = Math.max(this.paidUntil, (bill.seq + 1) * this.terms.tickSeconds)
    this.suspended = this.unpaid().some((b) => Date.now() - b.sentAt > this.terms.graceSeconds * 1000)
    this.receipted = true
    this.tunnel.resume()
    this.log.info('tick paid', { session: this.tag, seq: bill.seq, msat: bill.amountMsat, paidUntil: this.paidUntil })
    this.billIfRoom()
  }

  /** The receipt goes out on the channel that acked, once per channel, if it is still the session's. */
  private receipt(bill: Bill, channel: SessionChannel): void {
    if (this.closing || channel !== this.channel || channel.closed || bill.receiptOn === channel) return
    bill.receiptOn = channel
    channel.send({ type: 'tick_receipt', sessionId: this.id, seq: bill.seq, paidUntil: this.paidUntil })
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t)
        this.guard('on a timer', fn)
      },
      Math.max(0, ms)
    )
    this.timers.add(t)
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.sleepers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.sleepers.add(wake)
    })
  }

  private finish(reason: string, by: 'customer' | 'provider'): void {
    if (this.closing) return
    if (this.detachTimer) clearTimeout(this.detachTimer)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.closing = true
    for (const wake of [...this.sleepers]) wake()
    const durationMs = Date.now() - this.startedAt
    this.tunnel.destroy('SESSION_ENDED')
    this.channel.close()
    // A payment acknowledged just before the end may still be under verification; it settled, so
    // it counts. The record is final once those checks are done.
    void Promise.allSettled([...this.verifying]).then(() => {
      this.ended = {
        sessionId: this.idHex,
        kind: this.terms.kind,
        reason,
        by,
        ticksPaid: this.ticksPaid,
        msatPaid: this.msatPaid,
        durationMs,
        resumes: this.resumes
      }
      this.log.info('session ended', {
        session: this.tag,
        reason,
        by,
        ticksPaid: this.ticksPaid,
        msatPaid: this.msatPaid
      })
      this.onend(this)
    })
  }
}
