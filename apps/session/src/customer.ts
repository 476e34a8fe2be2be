// One rented session on the customer's side. Every tick goes through the TickGuard before any
// money moves, payments are strictly one at a time, the budget is never passed, and the local
// tunnel opens only once the provider has confirmed the first payment.

import { EventEmitter } from 'node:events'
import net from 'node:net'
import {
  PAYMENT_FREE,
  tickAmountMsat,
  type SessionAck,
  type SessionChannel,
  type SessionResumed,
  type SessionEnd,
  type Tick,
  type TickReceipt
} from '@2020117/protocol'
import { Tunnel } from '@2020117/tunnel'
import { TickGuard, WalletError, type NetworkName, type NwcWallet } from '@2020117/wallet'
import type { Logger } from '@2020117/cli'
import { LocalGateway } from './local-gateway.js'

export interface Offer {
  swarmKey: string
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
  /** Serve requests whatever their Host and Origin (--allow-foreign-origin); see local-gateway.ts. */
  allowForeignOrigin?: boolean
}

export interface Summary {
  reason: string
  by: 'customer' | 'provider' | 'local'
  message: string
  provider: string
  kind: number
  sats_per_minute: number
  tick_seconds: number
  ticks_paid: number
  msat_paid: number
  sats_paid: number
  budget_sats: number
  duration_s: number
  bytes_up: number
  bytes_down: number
  /** Times the session was resumed after the connection dropped. */
  resumes: number
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
  summary: Summary | null = null
  private readonly opts: CustomerOptions
  private channel: SessionChannel
  private resumes = 0
  /** The wallet payment under way, if any: quitting waits for it. */
  private paying: Promise<unknown> | null = null
  private quitting = false
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
    channel.on('tick', (t: Tick) => (this.queue = this.queue.then(() => this.ontick(t))))
    channel.on('tick_receipt', (r: TickReceipt) => this.onreceipt(r))
    channel.on('session_end', (e: SessionEnd) => this.finish(e.reason, 'provider', e.message))
    // A clean close follows a session_end, which already ended the session. A dropped connection
    // is resumed when it can be; a refused frame (our side's verdict) ends the session.
    channel.on('close', (err) => {
      if (channel !== this.channel || !err || this.summary) return
      if (err.code === 'CHANNEL_CLOSED' && this.ack && this.opts.reconnect) void this.resume()
      else this.finish(err.remoteCode ?? (err.code === 'CHANNEL_CLOSED' ? 'PROVIDER_GONE' : err.code), err.remoteCode ? 'provider' : 'customer', err.message)
    })
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
    while (!this.summary && Date.now() < deadline) {
      try {
        const channel = await (this.opts.reconnect as NonNullable<CustomerOptions['reconnect']>)(deadline)
        // A provider that takes the connection but never answers must not hold us past the deadline.
        let timer: NodeJS.Timeout | undefined
        const answer = new Promise<SessionResumed | string>((resolve) => {
          channel.once('session_resumed', resolve)
          channel.once('session_reject', (r) => resolve(r.code))
          channel.once('close', () => resolve('CLOSED'))
          timer = setTimeout(() => resolve('NO_ANSWER'), Math.max(0, deadline - Date.now()))
        })
        channel.send({ type: 'session_resume', sessionId: ack.sessionId, resumeSecret: ack.resumeSecret })
        const res = await answer
        clearTimeout(timer)
        if (typeof res === 'string' && res !== 'RESUME_REFUSED') channel.close()
        if (typeof res === 'string') {
          if (res === 'RESUME_REFUSED') return this.finish('PROVIDER_GONE', 'provider', 'the provider no longer has this session')
          throw new Error(res)
        }
        if (this.summary) return void channel.close()
        this.channel = channel
        this.bind(channel)
        this.guard?.resume(res.nextSeq)
        this.tunnel = new Tunnel(channel)
        this.resumes++
        this.log.info(`session resumed (paid until ${res.paidUntil} s)`)
        this.emit('resumed', res)
        if (res.paidUntil > 0 || this.isFree) this.openTunnel()
        return
      } catch (err) {
        this.log.debug('resume attempt failed', { error: (err as Error).message })
        await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))))
        delay = Math.min(delay * 2, 2000)
      }
    }
    this.finish('PROVIDER_GONE', 'provider', `could not resume within ${2 * ack.graceSeconds} s`)
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
  ended(): Promise<Summary> {
    if (this.summary) return Promise.resolve(this.summary)
    return new Promise((resolve) => this.once('end', resolve))
  }

  /** Ends the session from the customer's side. */
  quit(reason = 'CUSTOMER_QUIT', message = ''): void {
    if (this.summary || this.quitting) return
    this.quitting = true
    // A payment already on its way is waited for, so that the summary counts what the wallet
    // paid; no new payment starts (ontick checks `quitting`).
    if (this.paying) {
      this.log.info('ending the session once the payment under way completes…')
      void this.paying.finally(() => this.sendEnd(reason, message))
    }
    else this.sendEnd(reason, message)
  }

  private sendEnd(reason: string, message: string): void {
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
          msatPaid: this.guard?.spentMsat ?? 0,
          durationMs: Date.now() - this.startedAt
        })
      } catch {}
    }
    this.finish(reason, 'customer', message)
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
      minutes_left: this.isFree ? -1 : Math.max(0, Math.round(((paidUntil - elapsed) / 60 + left / perMinute) * 10) / 10),
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
    // The provider sets the price, but never above what it offered and we accepted.
    if (ack.satsPerMinute > this.offer.satsPerMinute) {
      this.quit('PRICE_MISMATCH', `session_ack asks ${ack.satsPerMinute} sats/min, the offer was ${this.offer.satsPerMinute}`)
      return
    }
    this.guard = new TickGuard({
      satsPerMinute: ack.satsPerMinute,
      tickSeconds: ack.tickSeconds,
      budgetSats: this.opts.budgetSats,
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

  private async ontick(tick: Tick): Promise<void> {
    const g = this.guard
    if (!g || this.summary || this.quitting) return
    if (this.isFree) return this.quit('INVOICE_INVALID', 'a free session sent a bill')
    if (this.budgetEnd) return // the budget is spent: use the paid time, pay nothing more
    let approved
    try {
      approved = g.check(tick)
    } catch (err) {
      const e = err as WalletError
      if (e.code === 'BUDGET_EXHAUSTED') return this.endWhenPaidTimeRunsOut()
      this.log.error(`refused tick ${tick.seq}: ${e.message}`)
      return this.quit(e.code, e.message)
    }
    let preimage = approved.paidPreimage
    if (preimage === null) {
      const wallet = this.opts.wallet
      if (!wallet) return this.quit('PAYMENT_FAILED', 'no wallet to pay with')
      const payment = wallet.pay(approved.bolt11, approved.invoice.paymentHash)
      this.paying = payment
      try {
        ;({ preimage } = await payment)
      } catch (err) {
        const e = err as WalletError
        this.log.error(`could not pay tick ${tick.seq}: ${e.message}`)
        this.paying = null
        return this.quit('PAYMENT_FAILED', e.message)
      }
      this.paying = null
      // Recorded before anything else: a paid bill must never be paid again, even if the
      // connection dropped while the payment was in flight.
      g.paid(approved, preimage)
      this.log.debug(`paid tick ${tick.seq}`, { msat: approved.amountMsat, spentMsat: g.spentMsat })
      this.emit('paid', { seq: tick.seq, amountMsat: approved.amountMsat, spentMsat: g.spentMsat })
    } else this.log.debug(`tick ${tick.seq} re-sent after the resume was paid already: acknowledging it`)
    if (this.summary) return
    try {
      this.channel.send({ type: 'tick_ack', sessionId: tick.sessionId, seq: tick.seq, preimage: Buffer.from(preimage, 'hex') })
    } catch {
      // The channel dropped: the provider re-sends this bill on resume, and it is acknowledged then.
    }
    if (!g.canAffordNext()) this.endWhenPaidTimeRunsOut()
  }

  /** The budget cannot pay the next tick: keep using what is paid, then end. */
  private endWhenPaidTimeRunsOut(): void {
    if (this.budgetEnd || !this.guard) return
    const endAt = this.startedAt + this.guard.paidUntil * 1000
    this.log.info(`budget spent: the session ends when the paid time runs out, in ${Math.max(0, Math.round((endAt - Date.now()) / 1000))} s`)
    this.budgetEnd = setTimeout(() => this.quit('BUDGET_EXHAUSTED', `${this.guard?.ticksPaid} ticks paid, ${this.guard?.spentMsat} msat of a ${this.opts.budgetSats} sat budget`), Math.max(0, endAt - Date.now()))
  }

  private onreceipt(r: TickReceipt): void {
    this.log.debug('provider confirmed payment', { seq: r.seq, paidUntil: r.paidUntil })
    if (!this.open) this.openTunnel()
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
      openStream: () => (this.open && this.tunnel && !this.summary ? this.tunnel.openStream() : null)
    })
    this.gateway.accept(sock)
  }

  private finish(reason: string, by: Summary['by'], message: string): void {
    if (this.summary) return
    if (this.budgetEnd) clearTimeout(this.budgetEnd)
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
