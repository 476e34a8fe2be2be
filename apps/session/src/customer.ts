// One rented session on the customer's side. Every tick goes through the TickGuard before any
// money moves, payments are strictly one at a time, the budget (routing fees included) is never
// passed, and the local tunnel opens only once the provider has confirmed the first payment.
//
// Against a hostile provider (SPEC §5.4, §5.5): the acked and resumed terms must be the ones agreed;
// a resume can never re-bill a paid period, and a link that keeps dropping ends the session; no more
// than 2 payments go out without a receipt; and the session never ends, nor prints its summary,
// while a payment is under way: what the wallet paid is what the summary says (a payment the
// wallet neither confirmed nor denied, looked up once more, is reported apart as msat_pending).

import { EventEmitter } from 'node:events'
import net from 'node:net'
import {
  MAX_ACCEPTED_GRACE_SECONDS,
  MAX_RESUMES_PER_MINUTE,
  MAX_RESUMES_PER_SESSION,
  MAX_UNRECEIPTED_PAYMENTS,
  PAYMENT_FREE,
  isSessionEndReason,
  tickAmountMsat,
  type SessionAck,
  type SessionChannel,
  type SessionResumed,
  type SessionEnd,
  type SessionEndReason,
  type Tick,
  type TickReceipt
} from '@2020117/protocol'
import { Tunnel } from '@2020117/tunnel'
import {
  TickGuard,
  WalletError,
  type ApprovedTick,
  type NetworkName,
  type NwcWallet,
  type PaidInvoice
} from '@2020117/wallet'
import type { Logger } from '@2020117/cli'
import { LocalGateway } from './local-gateway.js'

/** How long a payment the wallet may have made (PAYMENT_PENDING) is still looked up before the summary. */
export const SETTLE_PENDING_MS = 30_000
/** How much earlier than the provider's cut-off (paidUntil + grace) we stop opening new streams. */
const CARRY_MARGIN_MS = 500

export interface Offer {
  swarmKey: string
  /** The provider's Nostr pubkey (hex), proven by its binding; '' if it proved none. */
  pubkey: string
  name: string
  kind: number
  satsPerMinute: number
  tickSeconds: number
  paymentMethod: string
  manifest: Record<string, unknown>
}

export interface CustomerOptions {
  channel: SessionChannel
  offer: Offer
  budgetSats: number
  wallet: NwcWallet | null
  network: NetworkName
  listener: net.Server
  log: Logger
  seenHashes: Set<string>
  /** The customer's Nostr pubkey, told to the provider in session_start. */
  customerPubkey: Uint8Array | null
  /** Opens a fresh session channel to the same provider, for a resume after a drop. */
  reconnect?: (deadlineMs: number) => Promise<SessionChannel>
  /** The most routing fee one payment may cost (--max-fee); kept in reserve by the budget check. */
  maxFeeSats?: number
  /** Serve requests whatever their Host and Origin (--allow-foreign-origin); see local-gateway.ts. */
  allowForeignOrigin?: boolean
}

export interface SessionSummary {
  reason: string
  by: 'customer' | 'provider' | 'local'
  message: string
  provider: string
  kind: number
  sats_per_minute: number
  tick_seconds: number
  ticks_paid: number
  /** Everything the wallet paid: the ticks and their routing fees. */
  msat_paid: number
  sats_paid: number
  /** The routing fees within msat_paid. */
  fees_msat: number
  /** Invoices the wallet may have paid but never confirmed nor denied (not in msat_paid): check the wallet. */
  msat_pending: number
  budget_sats: number
  duration_s: number
  bytes_up: number
  bytes_down: number
  /** Times the session was resumed after the connection dropped. */
  resumes: number
}

/** What proves this session paid its provider (SPEC §11.3): the last paid tick's invoice and preimage. */
export interface PaidTick {
  /** The session id, 32 hex: the agent's tick invoices name it. */
  sessionId: string
  seq: number
  bolt11: string
  preimage: string
}

export interface Status {
  state: 'starting' | 'awaiting_payment' | 'active' | 'reconnecting' | 'ended'
  provider: string
  name: string
  kind: number
  sats_per_minute: number
  tick_seconds: number
  elapsed_s: number
  ticks_paid: number
  msat_spent: number
  sats_spent: number
  budget_sats: number
  budget_left_sats: number
  minutes_left: number
  paid_until_s: number
  bytes_up: number
  bytes_down: number
  open_streams: number
}

export class CustomerSession extends EventEmitter {
  readonly offer: Offer
  state: Status['state'] = 'starting'
  summary: SessionSummary | null = null
  private readonly opts: CustomerOptions
  private channel: SessionChannel
  private resumes = 0
  /** Drops of the link that were resumed (or tried), and those of the last minute. */
  private drops: number[] = []
  private dropsInAll = 0
  private receipts = 0
  /** The paidUntil (seconds of session time) of the provider's latest receipt. */
  private receiptedUntil = 0
  private receiptTimer: NodeJS.Timeout | null = null
  /** The wallet payment under way, if any; it resolves once the payment is recorded. Ending waits for it. */
  private paying: Promise<unknown> | null = null
  private quitting = false
  /** The session is over but a payment is still under way: nothing new starts, the end waits. */
  private ending = false
  /** Traffic of tunnels that ended with a dropped connection. */
  private readonly bytesBefore = { up: 0, down: 0 }
  private readonly log: Logger
  private tunnel: Tunnel | null = null
  private guard: TickGuard | null = null
  private startedAt = 0
  private ack: SessionAck | null = null
  private queue: Promise<void> = Promise.resolve()
  private budgetEnd: NodeJS.Timeout | null = null
  private readonly held: net.Socket[] = []
  private gateway: LocalGateway | null = null
  private open = false
  private lastPaid: PaidTick | null = null

  constructor(opts: CustomerOptions) {
    super()
    this.opts = opts
    this.offer = opts.offer
    this.channel = opts.channel
    this.log = opts.log
    opts.listener.on('connection', (sock: net.Socket) => this.onlocal(sock))
    this.channel.on('session_ack', (ack: SessionAck) => this.onack(ack))
    this.channel.on('session_reject', (r) => this.finish(r.code, 'provider', r.message))
    this.bind(this.channel)
  }

  private bind(channel: SessionChannel): void {
    // Ticks are handled strictly in order, one payment at a time.
    channel.on('tick', (t: Tick) => {
      const arrived = performance.now()
      this.queue = this.queue.then(() => this.ontick(t, arrived))
    })
    channel.on('tick_receipt', (r: TickReceipt) => this.onreceipt(r))
    channel.on('session_end', (e: SessionEnd) => this.finish(e.reason, 'provider', e.message))
    // A clean close follows a session_end, which already ended the session. A dropped connection
    // is resumed when it can be; a refused frame (our side's verdict) ends the session.
    channel.on('close', (err) => {
      if (channel !== this.channel || !err || this.summary || this.ending) return
      if (err.code === 'CHANNEL_CLOSED' && this.ack && this.opts.reconnect) this.ondrop()
      else
        this.finish(
          err.remoteCode ?? (err.code === 'CHANNEL_CLOSED' ? 'PROVIDER_GONE' : err.code),
          err.remoteCode ? 'provider' : 'customer',
          err.message
        )
    })
  }

  /** A dropped link is resumed, within bounds: a provider whose link keeps dropping is gone (SPEC §5.5). */
  private ondrop(): void {
    const now = Date.now()
    this.drops = [...this.drops.filter((t) => now - t < 60_000), now]
    this.dropsInAll++
    if (this.drops.length > MAX_RESUMES_PER_MINUTE || this.dropsInAll > MAX_RESUMES_PER_SESSION) {
      const message = `the connection to the provider dropped ${this.drops.length} times in a minute (${this.dropsInAll} in all): not resuming again`
      this.log.warn(message)
      return this.finish('PROVIDER_GONE', 'provider', message)
    }
    void this.resume()
  }

  /**
   * Reconnects and resumes the same session (SPEC §5.5) within twice the grace, the time the
   * provider keeps it. Paid time is not lost; a bill paid before the drop is never paid again.
   */
  private async resume(): Promise<void> {
    const ack = this.ack as SessionAck
    const deadline = Date.now() + 2 * ack.graceSeconds * 1000
    this.open = false
    this.state = 'reconnecting'
    if (this.tunnel) {
      this.bytesBefore.up += this.tunnel.stats.bytesSent
      this.bytesBefore.down += this.tunnel.stats.bytesReceived
      this.tunnel.destroy('CONNECTION_LOST')
    }
    this.log.warn(`connection to the provider lost: resuming (up to ${2 * ack.graceSeconds} s)…`)
    let delay = 250
    while (!this.summary && !this.ending && Date.now() < deadline) {
      try {
        const res = await this.attemptResume(ack, deadline)
        if (res === 'RESUME_REFUSED')
          return this.finish('PROVIDER_GONE', 'provider', 'the provider no longer has this session')
        return
      } catch (err) {
        this.log.debug('resume attempt failed', { error: (err as Error).message })
        await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))))
        delay = Math.min(delay * 2, 2000)
      }
    }
    this.finish('PROVIDER_GONE', 'provider', `could not resume within ${2 * ack.graceSeconds} s`)
  }

  /**
   * One resume: a new channel (which must open before the deadline: a provider that never opens it
   * must not hold us), session_resume, and its answer. session_resumed is adopted synchronously, so
   * that a tick right behind it finds its handler.
   */
  private async attemptResume(ack: SessionAck, deadline: number): Promise<'ADOPTED' | 'RESUME_REFUSED'> {
    const reconnect = this.opts.reconnect as NonNullable<CustomerOptions['reconnect']>
    const channel = await beforeDeadline(reconnect(deadline), deadline, (late) => late.close())
    let timer: NodeJS.Timeout | undefined
    const answer = new Promise<string>((resolve) => {
      channel.once('session_resumed', (res: SessionResumed) => {
        // Nothing peer-driven may throw out of an event handler.
        try {
          this.adopt(channel, res)
        } catch (err) {
          this.finish('PROVIDER_GONE', 'customer', `could not take the resumed session over: ${(err as Error).message}`)
        }
        resolve('ADOPTED')
      })
      channel.once('session_reject', (r) => resolve(r.code))
      channel.once('close', () => resolve('CLOSED'))
      timer = setTimeout(() => resolve('NO_ANSWER'), Math.max(0, deadline - Date.now()))
    })
    channel.send({ type: 'session_resume', sessionId: ack.sessionId, resumeSecret: ack.resumeSecret })
    const res = await answer
    clearTimeout(timer)
    if (res === 'ADOPTED' || res === 'RESUME_REFUSED') return res
    channel.close()
    throw new Error(res)
  }

  /** Takes the resumed session over on `channel`, once its terms and nextSeq pass the checks. */
  private adopt(channel: SessionChannel, res: SessionResumed): void {
    if (this.summary || this.ending) return void channel.close()
    const ack = this.ack as SessionAck
    this.channel = channel
    this.bind(channel)
    // "Unchanged terms" (SPEC §5.5): the ones session_ack gave, to the second.
    const acked = {
      satsPerMinute: ack.satsPerMinute,
      tickSeconds: ack.tickSeconds,
      free: this.isFree,
      graceSeconds: ack.graceSeconds
    }
    const bad = termsDiffer(acked, res, 'session_resumed', 'session_ack')
    if (bad) return this.refuse(bad.code, bad.message)
    try {
      this.guard?.resume(res.nextSeq)
    } catch (err) {
      return this.refuse(endReasonOf(err as WalletError), (err as WalletError).message)
    }
    this.tunnel = new Tunnel(channel)
    this.resumes++
    this.log.info(`session resumed (paid until ${res.paidUntil} s)`)
    this.receiptedUntil = Math.max(this.receiptedUntil, res.paidUntil)
    this.emit('resumed', res)
    if (res.paidUntil > 0 || this.isFree) this.openTunnel()
  }

  private refuse(code: SessionEndReason, message: string): void {
    this.log.error(`refused: ${message}`)
    this.quit(code, message)
  }

  /** Asks for the session at the price the customer accepted, and no more. */
  start(): void {
    this.channel.send({
      type: 'session_start',
      kind: this.offer.kind,
      budgetSats: this.opts.budgetSats,
      maxSatsPerMinute: this.offer.satsPerMinute,
      paymentMethod: this.offer.paymentMethod,
      customerPubkey: this.opts.customerPubkey
    })
  }

  /** Resolves with the summary when the session is over, whoever ended it. */
  ended(): Promise<SessionSummary> {
    if (this.summary) return Promise.resolve(this.summary)
    return new Promise((resolve) => this.once('end', resolve))
  }

  /** Ends the session from the customer's side. */
  quit(reason: SessionEndReason = 'CUSTOMER_QUIT', message = ''): void {
    if (this.summary || this.quitting) return
    this.quitting = true
    // A payment already on its way is waited for, so that the summary counts what the wallet
    // paid; no new payment starts (ontick checks `quitting`).
    if (this.paying) {
      this.log.info('ending the session once the payment under way completes…')
      void this.paying.finally(() => this.sendEnd(reason, message))
    } else this.sendEnd(reason, message)
  }

  private sendEnd(reason: SessionEndReason, message: string): void {
    if (this.summary) return
    if (this.ack && this.channel.state === 'active') {
      try {
        this.channel.send({
          type: 'session_end',
          sessionId: this.ack.sessionId,
          by: 'customer',
          reason,
          message: message.slice(0, 1000),
          ticksPaid: this.guard?.ticksPaid ?? 0,
          // What the provider was paid: the invoices, without the routing fees.
          msatPaid: this.guard?.ticksMsat ?? 0,
          durationMs: Date.now() - this.startedAt
        })
      } catch {}
    }
    this.finish(reason, 'customer', message)
  }

  /** The last tick the wallet paid, or null (a free session, or none paid yet): what a review proves. */
  paidTick(): PaidTick | null {
    return this.lastPaid
  }

  status(): Status {
    const g = this.guard
    const spent = g?.spentMsat ?? 0
    const left = this.opts.budgetSats * 1000 - spent
    const perMinute = this.offer.satsPerMinute * 1000
    const elapsed = this.startedAt ? (Date.now() - this.startedAt) / 1000 : 0
    const paidUntil = this.isFree ? Infinity : (g?.paidUntil ?? 0)
    return {
      state: this.state,
      provider: this.offer.swarmKey,
      name: this.offer.name,
      kind: this.offer.kind,
      sats_per_minute: this.offer.satsPerMinute,
      tick_seconds: this.ack?.tickSeconds ?? this.offer.tickSeconds,
      elapsed_s: Math.round(elapsed),
      ticks_paid: g?.ticksPaid ?? 0,
      msat_spent: spent,
      sats_spent: Math.floor(spent / 1000),
      budget_sats: this.opts.budgetSats,
      budget_left_sats: Math.floor(left / 1000),
      // Time already paid for plus what the rest of the budget buys.
      minutes_left: this.isFree
        ? -1
        : Math.max(0, Math.round(((paidUntil - elapsed) / 60 + left / perMinute) * 10) / 10),
      paid_until_s: this.isFree ? -1 : paidUntil,
      bytes_up: this.bytesBefore.up + (this.tunnel?.stats.bytesSent ?? 0),
      bytes_down: this.bytesBefore.down + (this.tunnel?.stats.bytesReceived ?? 0),
      open_streams: this.tunnel?.openStreams ?? 0
    }
  }

  private get isFree(): boolean {
    return this.offer.paymentMethod === PAYMENT_FREE
  }

  private onack(ack: SessionAck): void {
    this.ack = ack
    this.startedAt = Date.now()
    // The terms are the offer the customer accepted (SPEC §5.4): price, period and method exactly;
    // the offer carries no grace, so the grace only has to be within the customer's bound.
    const offer = {
      satsPerMinute: this.offer.satsPerMinute,
      tickSeconds: this.offer.tickSeconds,
      free: this.isFree,
      graceSeconds: null
    }
    const bad = termsDiffer(offer, ack, 'session_ack', 'the offer')
    if (bad) return this.refuse(bad.code, bad.message)
    this.guard = new TickGuard({
      satsPerMinute: ack.satsPerMinute,
      tickSeconds: ack.tickSeconds,
      budgetSats: this.opts.budgetSats,
      maxFeeMsat: (this.opts.maxFeeSats ?? 0) * 1000,
      network: this.opts.network,
      startedAt: this.startedAt,
      seenHashes: this.opts.seenHashes
    })
    this.tunnel = new Tunnel(this.channel)
    this.state = this.isFree ? 'active' : 'awaiting_payment'
    this.log.info(
      this.isFree
        ? 'session started (free)'
        : `session started: ${ack.satsPerMinute} sats/min, ${tickAmountMsat(ack.satsPerMinute, ack.tickSeconds)} msat every ${ack.tickSeconds} s; waiting for the first invoice…`
    )
    this.emit('started', ack)
    if (this.isFree) this.openTunnel()
  }

  private async ontick(tick: Tick, arrived: number): Promise<void> {
    const g = this.guard
    if (!g || this.summary || this.quitting || this.ending) return
    if (this.isFree) return this.quit('INVOICE_INVALID', 'a free session sent a bill')
    if (this.budgetEnd) return // the budget is spent: use the paid time, pay nothing more
    let approved
    try {
      approved = g.check(tick)
    } catch (err) {
      const e = err as WalletError
      if (e.code === 'BUDGET_EXHAUSTED') return this.endWhenPaidTimeRunsOut()
      this.log.error(`refused tick ${tick.seq}: ${e.message}`)
      return this.quit(endReasonOf(e), e.message)
    }
    let preimage = approved.paidPreimage
    if (preimage === null) {
      if (this.unreceipted()) return this.quit('NO_RECEIPT', this.noReceiptMessage())
      const wallet = this.opts.wallet
      if (!wallet) return this.quit('PAYMENT_FAILED', 'no wallet to pay with')
      const paid = await this.pay(wallet, g, approved)
      if (paid instanceof Error) {
        this.log.error(`could not pay tick ${tick.seq}: ${paid.message}`)
        return this.quit('PAYMENT_FAILED', paid.message)
      }
      preimage = paid
      this.log.debug(`paid tick ${tick.seq}`, {
        msat: approved.amountMsat,
        spentMsat: g.spentMsat,
        feesMsat: g.feesMsat
      })
      this.emit('paid', { seq: tick.seq, amountMsat: approved.amountMsat, spentMsat: g.spentMsat })
      if (this.unreceipted()) this.awaitReceipt(g)
    } else this.log.debug(`tick ${tick.seq} re-sent after the resume was paid already: acknowledging it`)
    if (this.summary) return
    try {
      this.channel.send({
        type: 'tick_ack',
        sessionId: tick.sessionId,
        seq: tick.seq,
        preimage: Buffer.from(preimage, 'hex')
      })
      // How long the tick was held here (checks, payment): the bench takes it from the provider's
      // tick-to-ack time to get the billing frames' own round trip through the tunnel.
      this.log.debug('tick ack sent', { seq: tick.seq, heldMs: Math.round((performance.now() - arrived) * 100) / 100 })
    } catch {
      // The channel dropped: the provider re-sends this bill on resume, and it is acknowledged then.
    }
    if (!g.canAffordNext()) this.endWhenPaidTimeRunsOut()
  }

  /**
   * Pays one approved tick. Through a wallet outage it keeps trying until the paid time and the
   * grace are spent (never paying twice: see NwcWallet.pay). The payment is recorded in the guard
   * before anything else, so a bill paid while the link dropped is never paid again, and `paying`
   * settles only once it is recorded, so an end that waits for it counts it.
   */
  private pay(wallet: NwcWallet, g: TickGuard, approved: ApprovedTick): Promise<string | WalletError> {
    const until = this.startedAt + (g.paidUntil + (this.ack as SessionAck).graceSeconds) * 1000
    const payment = wallet
      .pay(approved.bolt11, approved.invoice.paymentHash, { until })
      .catch((err: WalletError) => (err.code === 'PAYMENT_PENDING' ? this.settle(wallet, g, approved, err) : err))
      .then(
        (paid) => {
          this.paying = null
          if (paid instanceof Error) return paid
          g.paid(approved, paid.preimage, paid.feesMsat)
          this.lastPaid = {
            sessionId: Buffer.from((this.ack as SessionAck).sessionId).toString('hex'),
            seq: approved.seq,
            bolt11: approved.bolt11,
            preimage: paid.preimage
          }
          return paid.preimage
        },
        (err: WalletError) => {
          this.paying = null
          return err
        }
      )
    this.paying = payment
    return payment
  }

  /**
   * A payment given up as PAYMENT_PENDING may still have been made. Before anything ends, it is looked
   * up (never paid again) for up to SETTLE_PENDING_MS more: settled, it counts as paid; still unknown,
   * it is recorded as pending, which the summary reports (msat_pending), so the summary never says
   * less than the wallet paid.
   */
  private async settle(
    wallet: NwcWallet,
    g: TickGuard,
    approved: ApprovedTick,
    pending: WalletError
  ): Promise<PaidInvoice | WalletError> {
    const seq = approved.seq
    this.log.warn(
      `tick ${seq}: ${pending.message}. Looking it up for up to ${SETTLE_PENDING_MS / 1000} s more before the summary (it is never paid again)…`
    )
    const paid = await wallet.settle(approved.invoice.paymentHash, {
      until: Date.now() + SETTLE_PENDING_MS,
      onwait: (why, ms) =>
        this.log.info(`tick ${seq}: payment still not confirmed (${why}); looking again in ${ms / 1000} s`)
    })
    if (paid) {
      this.log.info(`tick ${seq}: the wallet did pay it: counted as paid`)
      return paid
    }
    g.pending(approved)
    this.log.warn(
      `tick ${seq}: still not confirmed after ${SETTLE_PENDING_MS / 1000} s: ${approved.amountMsat} msat may have been paid (msat_pending); check your wallet`
    )
    return pending
  }

  /** Payments went out and no receipt ever came (SPEC §5.4): stop paying. */
  private unreceipted(): boolean {
    return this.receipts === 0 && (this.guard?.ticksPaid ?? 0) >= MAX_UNRECEIPTED_PAYMENTS
  }

  private noReceiptMessage(): string {
    return `the provider confirmed none of the ${this.guard?.ticksPaid} payments made (no tick_receipt): paying nothing more`
  }

  /** After the last payment allowed without a receipt, a receipt must come while the paid time and grace last. */
  private awaitReceipt(g: TickGuard): void {
    if (this.receiptTimer) return
    const at = this.startedAt + (g.paidUntil + (this.ack as SessionAck).graceSeconds) * 1000
    this.receiptTimer = setTimeout(
      () => {
        if (this.unreceipted()) this.quit('NO_RECEIPT', this.noReceiptMessage())
      },
      Math.max(0, at - Date.now())
    )
  }

  /** The budget cannot pay the next tick: keep using what is paid, then end. */
  private endWhenPaidTimeRunsOut(): void {
    if (this.budgetEnd || !this.guard) return
    const endAt = this.startedAt + this.guard.paidUntil * 1000
    this.log.info(
      `budget spent: the session ends when the paid time runs out, in ${Math.max(0, Math.round((endAt - Date.now()) / 1000))} s`
    )
    this.budgetEnd = setTimeout(
      () =>
        this.quit(
          'BUDGET_EXHAUSTED',
          `${this.guard?.ticksPaid} ticks paid, ${this.guard?.spentMsat} msat of a ${this.opts.budgetSats} sat budget`
        ),
      Math.max(0, endAt - Date.now())
    )
  }

  private onreceipt(r: TickReceipt): void {
    this.log.debug('provider confirmed payment', { seq: r.seq, paidUntil: r.paidUntil })
    this.receipts++
    this.receiptedUntil = Math.max(this.receiptedUntil, r.paidUntil)
    if (!this.open) this.openTunnel()
    this.emit('receipt')
  }

  /**
   * Whether the provider would carry a new stream now, by our clock: until the receipted paidUntil +
   * grace, less CARRY_MARGIN_MS for the way there (our session clock starts after the provider's).
   * Past it, a stream would be reset PAYMENT_REQUIRED: a request waits for the next receipt instead
   * (the provider's billing runs late on a busy machine), and the browser sees no 502.
   */
  private carrying(): boolean {
    if (this.isFree) return true
    const ack = this.ack as SessionAck
    return Date.now() < this.startedAt + (this.receiptedUntil + ack.graceSeconds) * 1000 - CARRY_MARGIN_MS
  }

  private openTunnel(): void {
    this.open = true
    this.state = 'active'
    this.emit('open')
    for (const sock of this.held.splice(0)) this.connect(sock)
  }

  /** Local connections wait until the tunnel opens; after the session they are refused. */
  private onlocal(sock: net.Socket): void {
    sock.on('error', () => {})
    sock.setNoDelay(true)
    if (this.summary) return void sock.destroy()
    if (!this.open) {
      if (this.held.length >= 64) return void sock.destroy()
      this.held.push(sock)
      return
    }
    this.connect(sock)
  }

  /**
   * Hands a local connection to the local HTTP front, which checks the Host and Origin of every
   * request on it before the request gets a tunnel stream of its own (SPEC §6.3).
   */
  private connect(sock: net.Socket): void {
    if (!this.tunnel || this.summary) return void sock.destroy()
    this.gateway ??= new LocalGateway({
      address: this.opts.listener.address() as net.AddressInfo,
      allowForeignOrigin: this.opts.allowForeignOrigin === true,
      log: this.log,
      session: this,
      openStream: () => (this.open && this.tunnel && !this.summary && this.carrying() ? this.tunnel.openStream() : null)
    })
    this.gateway.accept(sock)
  }

  private finish(reason: string, by: SessionSummary['by'], message: string): void {
    if (this.summary) return
    // A payment under way may still be paid by the wallet: settle it first, so that the summary
    // (and --json) says what the wallet paid. Nothing new starts meanwhile.
    if (this.paying) {
      if (this.ending) return
      this.ending = true
      this.log.info('the session is ending: settling the payment under way first…')
      void this.paying.then(() => {
        this.ending = false
        this.finish(reason, by, message)
      })
      return
    }
    if (this.budgetEnd) clearTimeout(this.budgetEnd)
    if (this.receiptTimer) clearTimeout(this.receiptTimer)
    this.state = 'ended'
    const g = this.guard
    this.summary = {
      reason,
      by,
      message,
      provider: this.offer.swarmKey,
      kind: this.offer.kind,
      sats_per_minute: this.ack?.satsPerMinute ?? this.offer.satsPerMinute,
      tick_seconds: this.ack?.tickSeconds ?? this.offer.tickSeconds,
      ticks_paid: g?.ticksPaid ?? 0,
      msat_paid: g?.spentMsat ?? 0,
      sats_paid: Math.floor((g?.spentMsat ?? 0) / 1000),
      fees_msat: g?.feesMsat ?? 0,
      msat_pending: g?.pendingMsat ?? 0,
      budget_sats: this.opts.budgetSats,
      duration_s: this.startedAt ? Math.round((Date.now() - this.startedAt) / 100) / 10 : 0,
      bytes_up: this.bytesBefore.up + (this.tunnel?.stats.bytesSent ?? 0),
      bytes_down: this.bytesBefore.down + (this.tunnel?.stats.bytesReceived ?? 0),
      resumes: this.resumes
    }
    this.tunnel?.destroy('SESSION_ENDED')
    for (const sock of this.held.splice(0)) sock.destroy()
    this.channel.close()
    this.emit('end', this.summary)
  }
}

interface AgreedTerms {
  satsPerMinute: number
  tickSeconds: number
  free: boolean
  /** The grace agreed, or null where nothing was agreed (the offer has none): then only bounded. */
  graceSeconds: number | null
}

/**
 * How `got` (a session_ack or session_resumed) differs from the agreed terms, as an end reason and
 * message (SPEC §5.4), or null. There is no payment method on the wire after session_start: price 0
 * means free and any other price bolt11, so it must match the method the session started with.
 */
function termsDiffer(
  agreed: AgreedTerms,
  got: { satsPerMinute: number; tickSeconds: number; graceSeconds: number },
  what: string,
  than: string
): { code: 'PRICE_MISMATCH' | 'TERMS_MISMATCH'; message: string } | null {
  const terms = (message: string) => ({ code: 'TERMS_MISMATCH' as const, message })
  if (got.satsPerMinute !== agreed.satsPerMinute) {
    return {
      code: 'PRICE_MISMATCH',
      message: `${what} asks ${got.satsPerMinute} sats/min, ${than} said ${agreed.satsPerMinute}`
    }
  }
  if (got.tickSeconds !== agreed.tickSeconds)
    return terms(`${what} bills every ${got.tickSeconds} s, ${than} said every ${agreed.tickSeconds} s`)
  if ((got.satsPerMinute === 0) !== agreed.free)
    return terms(`${what} has a price of ${got.satsPerMinute} sats/min for a ${agreed.free ? 'free' : 'paid'} session`)
  if (agreed.graceSeconds === null) {
    if (got.graceSeconds <= MAX_ACCEPTED_GRACE_SECONDS) return null
    return terms(
      `${what} gives a grace of ${got.graceSeconds} s, more than the ${MAX_ACCEPTED_GRACE_SECONDS} s this client accepts`
    )
  }
  if (got.graceSeconds !== agreed.graceSeconds)
    return terms(`${what} gives a grace of ${got.graceSeconds} s, ${than} said ${agreed.graceSeconds} s`)
  return null
}

/** `p`, or a rejection at `deadline`; a result that comes too late goes to `late` (to be closed). */
function beforeDeadline<T>(p: Promise<T>, deadline: number, late: (value: T) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false
    const timer = setTimeout(
      () => {
        settled = true
        reject(new Error('NO_CHANNEL: the provider did not open the session channel in time'))
      },
      Math.max(0, deadline - Date.now())
    )
    p.then(
      (value) => {
        clearTimeout(timer)
        if (settled) return late(value)
        settled = true
        resolve(value)
      },
      (err) => {
        clearTimeout(timer)
        if (settled) return
        settled = true
        reject(err)
      }
    )
  })
}

/** A refused tick's or resume's reason: the guard's code when SPEC §8.3 lists it (only those are sent). */
function endReasonOf(err: WalletError): SessionEndReason {
  return isSessionEndReason(err.code) ? err.code : 'INVOICE_INVALID'
}
