// The provider daemon's core: announce the kinds on the DHT, answer skill requests with the
// manifest and the price, admit sessions within capacity, and serve each paid session's tunnel
// streams through the gateway to the configured upstream.
//
// Admission (admission.ts): starts are limited per connection and per remote key; an admitted
// paid session's first invoice waits its turn in the global rate, first come first served; a session
// whose tick 0 is not paid within FIRST_PAYMENT_SECONDS of being billed gives up its slot, and a key whose session ends with nothing paid, whoever
// ended it, is backed off (SPEC §5.3).

import { EventEmitter } from 'node:events'
import {
  FIRST_PAYMENT_SECONDS,
  PAYMENT_BOLT11,
  PAYMENT_FREE,
  ProtocolError,
  SessionChannel,
  tickAmountMsat,
  type Offer,
  type SessionEndReason,
  type SessionRejectCode,
  type SessionResume,
  type SessionStart
} from '@2020117/protocol'
import { PeerSwarm, type Connection, type NetworkConfig } from '@2020117/swarm'
import { makeBinding, npubOf } from '@2020117/nostr'
import { getPublicKey } from 'nostr-tools/pure'
import type { KeyPair } from 'hyperdht'
import type { Logger } from '@2020117/cli'
import { Admission } from './admission.js'
import { ProviderSession, type Invoicer, type SessionSummary } from './session.js'
import { Gateway } from './gateway.js'

export const SOFTWARE = '2020117-agent/0.1.0'

export interface ProviderOptions {
  network: NetworkConfig
  keyPair: KeyPair
  /** Signs the binding of the swarm key to the provider's Nostr identity. */
  nostrSecretKey: Uint8Array
  kinds: number[]
  satsPerMinute: number
  free: boolean
  tickSeconds: number
  graceSeconds: number
  maxSessions: number
  upstream: URL
  denyPaths: string[]
  manifest: Record<string, unknown>
  invoicer: Invoicer | null
  log: Logger
}

export interface ProviderStatus {
  swarmKey: string
  kinds: number[]
  satsPerMinute: number
  activeSessions: number
  capacity: number
  sessionsServed: number
  msatEarned: number
}

export class Provider extends EventEmitter {
  readonly swarm: PeerSwarm
  readonly gateway: Gateway
  readonly sessions = new Set<ProviderSession>()
  readonly finished: SessionSummary[] = []
  private readonly opts: ProviderOptions
  private readonly log: Logger
  private closing = false
  private readonly admission = new Admission()
  /** Sessions whose tick 0 has a tick_ack in (being verified): the first-payment deadline spares them. */
  private readonly firstAcked = new WeakSet<ProviderSession>()
  private bindingCache: string | null = null

  constructor(opts: ProviderOptions) {
    super()
    this.opts = opts
    this.log = opts.log
    this.swarm = new PeerSwarm({
      network: opts.network,
      keyPair: opts.keyPair,
      maxPeers: Math.max(64, opts.maxSessions * 4)
    })
    this.gateway = new Gateway({
      upstream: opts.upstream,
      denyPaths: opts.denyPaths,
      log: (m, f) => opts.log.debug(m, f)
    })
    this.swarm.on('connection', (conn: Connection) => this.onconnection(conn))
  }

  /** Signed once: the swarm key never changes while the provider runs. */
  private get binding(): string {
    this.bindingCache ??= makeBinding(this.opts.nostrSecretKey, this.swarm.publicKey, this.opts.kinds)
    return this.bindingCache
  }

  get offers(): Offer[] {
    return this.opts.kinds.map((kind) => ({ kind, satsPerMinute: this.opts.free ? 0 : this.opts.satsPerMinute }))
  }

  get capacity(): number {
    return Math.max(0, this.opts.maxSessions - this.sessions.size)
  }

  status(): ProviderStatus {
    return {
      swarmKey: Buffer.from(this.swarm.publicKey).toString('hex'),
      kinds: this.opts.kinds,
      satsPerMinute: this.opts.free ? 0 : this.opts.satsPerMinute,
      activeSessions: this.sessions.size,
      capacity: this.capacity,
      sessionsServed: this.finished.length,
      msatEarned: [...this.finished, ...[...this.sessions].map((s) => ({ msatPaid: s.msatPaid }))].reduce(
        (n, s) => n + s.msatPaid,
        0
      )
    }
  }

  async start(): Promise<void> {
    await this.swarm.announce(this.opts.kinds)
  }

  /** Ends every session with PROVIDER_SHUTDOWN, then leaves the swarm. */
  async close(): Promise<void> {
    this.closing = true
    for (const s of this.sessions) s.end('PROVIDER_SHUTDOWN', 'the provider is shutting down')
    this.gateway.close()
    await this.swarm.destroy()
  }

  private onconnection(conn: Connection): void {
    const remote = Buffer.from(conn.remotePublicKey).toString('hex')
    const peer = remote.slice(0, 8)
    const channel = new SessionChannel(conn, { role: 'provider', software: SOFTWARE })
    channel.on('close', (err) => {
      if (!err || err.code === 'CHANNEL_CLOSED') return
      this.log.debug('channel closed', { peer, code: err.code, error: err.message })
      // A peer that broke the protocol loses its connection too (the error frame goes first):
      // otherwise it could hold idle connections open without limit.
      if (err.code !== 'REMOTE_ERROR') conn.end()
    })
    channel.on('skill_request', () => {
      channel.send({
        type: 'skill_response',
        manifest: JSON.stringify(this.opts.manifest),
        offers: this.offers,
        tickSeconds: this.opts.tickSeconds,
        paymentMethods: [this.opts.free ? PAYMENT_FREE : PAYMENT_BOLT11],
        capacity: this.capacity,
        maxSessions: this.opts.maxSessions,
        identity: this.binding
      })
    })
    channel.on('session_start', (start: SessionStart) => this.onstart(channel, start, conn, remote))
    channel.on('session_resume', (m: SessionResume) => {
      const session = [...this.sessions].find((s) => s.idHex === Buffer.from(m.sessionId).toString('hex'))
      if (!session || session.over || !session.owns(m.resumeSecret)) {
        this.log.info('resume refused', { peer })
        channel.send({
          type: 'session_reject',
          code: 'RESUME_REFUSED',
          message: 'no such session: it ended, or the secret is wrong'
        })
        return
      }
      session.attach(channel)
      this.watchFirstAck(session, channel)
    })
  }

  private onstart(channel: SessionChannel, start: SessionStart, conn: Connection, remote: string): void {
    const peer = remote.slice(0, 8)
    const reject = (code: SessionRejectCode, message: string) => {
      this.log.info('session refused', { peer, code })
      channel.send({ type: 'session_reject', code, message })
    }
    if (this.closing) return reject('NO_CAPACITY', 'the provider is shutting down')
    const limited = this.admission.start(conn, remote)
    if (limited) {
      reject('RATE_LIMITED', limited.message)
      if (limited.hangUp) conn.end()
      return
    }
    const refused = this.refusal(start)
    if (refused) return reject(...refused)
    if (this.capacity === 0) return reject('NO_CAPACITY', `all ${this.opts.maxSessions} session slots are taken`)
    this.admitSession(channel, start, remote)
  }

  /** Why the terms of `start` cannot be served, or null. */
  private refusal(start: SessionStart): [SessionRejectCode, string] | null {
    const price = this.opts.free ? 0 : this.opts.satsPerMinute
    const method = this.opts.free ? PAYMENT_FREE : PAYMENT_BOLT11
    const tick = tickAmountMsat(price, this.opts.tickSeconds)
    if (!this.opts.kinds.includes(start.kind))
      return ['KIND_NOT_SERVED', `kind ${start.kind} is not served; kinds: ${this.opts.kinds.join(', ')}`]
    if (start.paymentMethod !== method) return ['PAYMENT_METHOD_UNSUPPORTED', `this provider takes ${method}`]
    if (start.maxSatsPerMinute < price)
      return ['PRICE_TOO_HIGH', `the price is ${price} sats/min, you accept at most ${start.maxSatsPerMinute}`]
    if (!this.opts.free && start.budgetSats * 1000 < tick)
      return ['BUDGET_TOO_SMALL', `one ${this.opts.tickSeconds} s tick costs ${tick} msat`]
    return null
  }

  private admitSession(channel: SessionChannel, start: SessionStart, remote: string): void {
    const price = this.opts.free ? 0 : this.opts.satsPerMinute
    const method = this.opts.free ? PAYMENT_FREE : PAYMENT_BOLT11
    // Every first invoice costs the wallet a make_invoice: it waits its turn in the global rate (FIFO).
    const turn = this.opts.free ? null : this.admission.invoiceTurn()
    if (turn && this.admission.queued > 0)
      this.log.info('session queued for its first invoice', { peer: remote.slice(0, 8), queued: this.admission.queued })
    let deadline: NodeJS.Timeout | undefined
    const session: ProviderSession = new ProviderSession({
      channel,
      terms: {
        kind: start.kind,
        satsPerMinute: price,
        tickSeconds: this.opts.tickSeconds,
        graceSeconds: this.opts.graceSeconds,
        paymentMethod: method,
        payee: npubOf(getPublicKey(this.opts.nostrSecretKey)),
        payer: start.customerPubkey ? npubOf(Buffer.from(start.customerPubkey).toString('hex')) : null
      },
      invoicer: this.opts.invoicer,
      log: this.log,
      serve: (stream) => this.gateway.handle(stream, session.idHex),
      firstTurn: turn?.ready,
      onfirstbill: () => (deadline = this.firstPaymentDeadline(session)),
      onend: (s) => {
        turn?.cancel()
        this.sessions.delete(s)
        this.gateway.release(s.idHex)
        clearTimeout(deadline)
        if (!s.ended) return
        this.judge(s.ended, remote)
        this.finished.push(s.ended)
        this.emit('session_ended', s.ended)
      }
    })
    this.sessions.add(session)
    this.emit('session_started', {
      sessionId: session.idHex,
      kind: start.kind,
      satsPerMinute: price,
      tickSeconds: this.opts.tickSeconds
    })
    this.watchFirstAck(session, channel)
    try {
      session.start()
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      session.end('PROVIDER_ERROR', err.message)
    }
  }

  /**
   * Ends a session whose tick 0 is still unpaid FIRST_PAYMENT_SECONDS after it was made, unless its
   * tick_ack is in and being verified (SPEC §5.3). When 2G is sooner, the grace rule ends it first.
   */
  private firstPaymentDeadline(session: ProviderSession): NodeJS.Timeout | undefined {
    if (session.free || FIRST_PAYMENT_SECONDS >= 2 * this.opts.graceSeconds) return undefined
    return setTimeout(() => {
      if (session.ticksPaid > 0 || this.firstAcked.has(session)) return
      const reason: SessionEndReason = 'FIRST_PAYMENT_TIMEOUT'
      session.end(
        reason,
        `tick 0 was not paid within ${FIRST_PAYMENT_SECONDS} s of its invoice: the slot goes to another customer`
      )
    }, FIRST_PAYMENT_SECONDS * 1000)
  }

  private watchFirstAck(session: ProviderSession, channel: SessionChannel): void {
    if (session.ticksPaid > 0) return
    channel.on('tick_ack', (ack: { seq: number }) => {
      if (ack.seq === 0) this.firstAcked.add(session)
    })
  }

  /**
   * A key whose session ended with nothing paid is backed off: the provider ended it for non-payment,
   * or the customer ended it (or vanished) itself, which a squatter does just before the deadline.
   */
  private judge(ended: SessionSummary, remote: string): void {
    if (ended.ticksPaid > 0) this.admission.paid(remote)
    else if (
      (ended.by === 'customer' || ended.reason === 'UNPAID' || ended.reason === 'FIRST_PAYMENT_TIMEOUT') &&
      !this.opts.free
    ) {
      this.admission.unpaid(remote)
      this.log.info('key backed off: its session ended unpaid', { peer: remote.slice(0, 8) })
    }
  }
}
