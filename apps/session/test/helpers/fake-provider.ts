// A provider that lives in the test process and does what the test says, for end-to-end tests of
// the real customer CLI against misbehaving providers (SPEC §5.4).
//
// It speaks the session protocol on a protomux channel it opens itself on each Hyperswarm
// connection, with no state machine of its own: `send()` encodes any message, legal or not, and
// `sendFrame()` writes any bytes as one channel message (out-of-order ticks, foreign session ids,
// giant frames: what a well-behaved SessionChannel would refuse to send). Only one protomux channel
// per protocol and id can exist on a connection, which is why the whole fake is raw rather than a
// SessionChannel with a side door.
//
// Honest by default: it answers skill_request with one offer, session_start with session_ack, and a
// tick_ack whose preimage matches a tick it sent with tick_receipt. What happens after session_ack
// is the test's `scenario`; what happens when the customer comes back with session_resume (after
// the fake dropped the link with `drop()`) is the test's `onResume`, on the new connection's session.

import { createHash, randomBytes } from 'node:crypto'
import {
  PAYMENT_BOLT11,
  PROTOCOL_VERSION,
  decodeHandshake,
  decodeMessage,
  encodeHandshake,
  encodeMessage,
  tickAmountMsat,
  type Handshake,
  type Message,
  type MessageOf,
  type MessageType,
  type SessionStart
} from '@2020117/protocol'
import { openRawChannel, type RawChannel } from '@2020117/protocol/testing'
import { PeerSwarm, type Connection } from '@2020117/swarm'
import type { TestNetwork } from '@2020117/testkit'
import { devnetInvoice, type PayableInvoice } from './invoices.js'

export type TickOverrides = Partial<Omit<MessageOf<'tick'>, 'type' | 'seq' | 'bolt11'>>

export interface FakeProviderOptions {
  kind?: number
  /** The advertised offer. */
  satsPerMinute?: number
  tickSeconds?: number
  graceSeconds?: number
  /** The price put in session_ack; defaults to the offer (honest). */
  ackSatsPerMinute?: number
  /** The period put in session_ack; defaults to the offer (honest). */
  ackTickSeconds?: number
  /** The grace put in session_ack; defaults to graceSeconds. */
  ackGraceSeconds?: number
  /**
   * What the provider does when a customer sends session_resume, on the new connection's session
   * (which has taken over the resumed session's id and clock). Unset: session_resume is ignored.
   */
  onResume?: (s: FakeSession, resume: MessageOf<'session_resume'>) => Promise<void> | void
  /** Open a session channel only on the first this many connections; later ones stay silent. */
  channelsOpened?: number
  /** Answer tick_acks that carry the right preimage with tick_receipt (default true). */
  receipts?: boolean
  /** What the provider does once it has sent session_ack. */
  scenario: (s: FakeSession) => Promise<void> | void
}

export interface SentTick {
  seq: number
  bolt11: string
  paymentHash: string | null
  amountMsat: number
  /** Sent to be refused: if the customer pays it anyway, the fake ends the session BAD_TICK_PAID. */
  bad: boolean
}

/**
 * The reason the fake ends a session with when the customer pays a tick it should have refused, so
 * that a missing customer check shows up at once as this reason in the customer's summary (instead
 * of as a session that runs on until the test times out).
 */
export const BAD_TICK_PAID = 'BAD_TICK_PAID'

/** One customer connection and, once it asks, its session. */
export class FakeSession {
  readonly conn: Connection
  readonly provider: FakeProvider
  /** Every frame the customer sent, decoded, in order. */
  readonly received: Message[] = []
  /** Frames the customer sent that did not decode (it should send none). */
  readonly undecodable: string[] = []
  readonly sentTicks: SentTick[] = []
  /** This session's id; a resumed session takes over the original's. */
  sessionId: Uint8Array = randomBytes(16)
  remote: Handshake | null = null
  start: SessionStart | null = null
  /** Date.now() when session_ack was sent: t = 0 of the provider's billing clock. */
  ackedAt = 0
  /** Resolves when the channel has closed (either side). */
  readonly closed: Promise<void>
  isClosed = false

  private readonly channel: RawChannel | null
  private readonly waiters: Array<{
    test: (m: Message) => boolean
    resolve: (m: Message) => void
    reject: (e: Error) => void
  }> = []
  private onclosed!: () => void

  constructor(provider: FakeProvider, conn: Connection) {
    this.provider = provider
    this.conn = conn
    this.closed = new Promise((resolve) => (this.onclosed = resolve))
    // A silent connection: the customer's channel never opens.
    this.channel =
      provider.connections.length >= provider.channelsOpened
        ? null
        : openRawChannel(
            conn,
            encodeHandshake({ version: PROTOCOL_VERSION, role: 'provider', software: 'fake-provider/test' }),
            {
              onopen: (raw) => {
                try {
                  this.remote = decodeHandshake(raw)
                } catch {}
              },
              onclose: () => {
                this.isClosed = true
                for (const w of this.waiters.splice(0))
                  w.reject(new Error('the customer closed the channel before sending the awaited message'))
                this.onclosed()
              },
              onframe: (frame) => this.onframe(frame)
            }
          )
    if (!this.channel) {
      conn.on('close', () => {
        this.isClosed = true
        this.onclosed()
      })
    }
  }

  get tickSeconds(): number {
    return this.provider.tickSeconds
  }

  /** The honest amount of one tick at the advertised price. */
  get amountMsat(): number {
    return tickAmountMsat(this.provider.satsPerMinute, this.provider.tickSeconds)
  }

  /** Encodes and sends any message, with no state checks (encodeMessage still enforces field bounds). */
  send(msg: Message): void {
    this.channel?.send(encodeMessage(msg))
  }

  /** Sends raw bytes as one channel message. */
  sendFrame(frame: Uint8Array): void {
    this.channel?.send(frame)
  }

  /** Cuts the connection without a session_end: to the customer, a dropped link it will resume. */
  drop(): void {
    this.conn.destroy()
  }

  /** Answers a session_resume: the offered terms unless overridden, and the given nextSeq. */
  resumed(over: Partial<Omit<MessageOf<'session_resumed'>, 'type'>> & { nextSeq: number }): void {
    const p = this.provider
    this.send({
      type: 'session_resumed',
      sessionId: this.sessionId,
      satsPerMinute: p.ackSatsPerMinute,
      tickSeconds: p.ackTickSeconds,
      graceSeconds: p.ackGraceSeconds,
      paidUntil: 0,
      elapsedMs: Date.now() - this.ackedAt,
      ...over
    })
  }

  /** An invoice from the devnet wallet for the provider account, payable by the customer. */
  invoice(amountMsat = this.amountMsat, opts: { expirySecs?: number } = {}): Promise<PayableInvoice> {
    return devnetInvoice(this.provider.net, amountMsat, { ...opts, description: `fake provider tick` })
  }

  /**
   * Sends tick `seq` carrying `invoice`. Defaults are honest: this session's id, the §5.1 amount, the
   * period [seq·T, (seq+1)·T). Override any field to misbehave.
   */
  tick(seq: number, invoice: { bolt11: string; paymentHash?: string | null }, over: TickOverrides = {}): void {
    this.sendTick(seq, invoice, over, false)
  }

  /**
   * Like tick(), for the tick the customer must refuse: should it pay it all the same, the fake
   * ends the session with BAD_TICK_PAID.
   */
  badTick(seq: number, invoice: { bolt11: string; paymentHash?: string | null }, over: TickOverrides = {}): void {
    this.sendTick(seq, invoice, over, true)
  }

  private sendTick(
    seq: number,
    invoice: { bolt11: string; paymentHash?: string | null },
    over: TickOverrides,
    bad: boolean
  ): void {
    const T = this.tickSeconds
    const msg: MessageOf<'tick'> = {
      type: 'tick',
      sessionId: this.sessionId,
      seq,
      amountMsat: this.amountMsat,
      bolt11: invoice.bolt11,
      periodStart: seq * T,
      periodEnd: (seq + 1) * T,
      ...over
    }
    this.sentTicks.push({
      seq,
      bolt11: invoice.bolt11,
      paymentHash: invoice.paymentHash ?? null,
      amountMsat: msg.amountMsat,
      bad
    })
    this.send(msg)
  }

  /** Resolves at `ms` after session_ack: the provider's own billing schedule (SPEC §5.2). */
  at(ms: number): Promise<void> {
    const wait = this.ackedAt + ms - Date.now()
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)))
  }

  /**
   * Resolves with the first message of `type` (already received or still to come) that satisfies
   * `pred`; rejects if the channel closes first.
   */
  next<T extends MessageType>(type: T, pred: (m: MessageOf<T>) => boolean = () => true): Promise<MessageOf<T>> {
    const test = (m: Message) => m.type === type && pred(m as MessageOf<T>)
    const seen = this.received.find(test)
    if (seen) return Promise.resolve(seen as MessageOf<T>)
    if (this.isClosed) return Promise.reject(new Error(`the channel closed before a ${type} arrived`))
    return new Promise((resolve, reject) =>
      this.waiters.push({ test, resolve: resolve as (m: Message) => void, reject })
    )
  }

  /** The tick_ack for `seq`. */
  paid(seq: number): Promise<MessageOf<'tick_ack'>> {
    return this.next('tick_ack', (a) => a.seq === seq)
  }

  close(): void {
    if (this.channel && !this.channel.closed) this.channel.close()
  }

  private onframe(frame: Uint8Array): void {
    let msg: Message
    try {
      msg = decodeMessage(frame)
    } catch (err) {
      this.undecodable.push((err as Error).message)
      return
    }
    this.received.push(msg)
    try {
      this.react(msg)
    } catch (err) {
      this.provider.errors.push(err as Error)
    }
    for (const w of [...this.waiters]) {
      if (w.test(msg)) {
        this.waiters.splice(this.waiters.indexOf(w), 1)
        w.resolve(msg)
      }
    }
  }

  /** The honest part of the provider. */
  private react(msg: Message): void {
    const p = this.provider
    switch (msg.type) {
      case 'skill_request':
        this.send({
          type: 'skill_response',
          manifest: JSON.stringify({ name: 'fake provider', description: 'misbehaves on purpose' }),
          offers: [{ kind: p.kind, satsPerMinute: p.satsPerMinute }],
          tickSeconds: p.tickSeconds,
          paymentMethods: [PAYMENT_BOLT11],
          capacity: 1,
          maxSessions: 1,
          identity: p.identity
        })
        return
      case 'session_start':
        this.start = msg
        this.send({
          type: 'session_ack',
          sessionId: this.sessionId,
          satsPerMinute: p.ackSatsPerMinute,
          tickSeconds: p.ackTickSeconds,
          graceSeconds: p.ackGraceSeconds,
          resumeSecret: randomBytes(32)
        })
        this.ackedAt = Date.now()
        p.startScenario(this)
        return
      case 'session_resume': {
        const original = p.connections.find((c) => c.start !== null)
        if (!p.onResume || !original) return
        this.sessionId = original.sessionId
        this.ackedAt = original.ackedAt
        p.resumes++
        Promise.resolve(p.onResume(this, msg)).catch((err) => p.errors.push(err as Error))
        return
      }
      case 'tick_ack': {
        if (this.sentTicks.some((t) => t.seq === msg.seq && t.bad)) {
          this.send({
            type: 'session_end',
            sessionId: this.sessionId,
            by: 'provider',
            reason: BAD_TICK_PAID,
            message: `the customer paid tick ${msg.seq}, which it should have refused`,
            ticksPaid: 0,
            msatPaid: 0,
            durationMs: Date.now() - this.ackedAt
          })
          this.close()
          return
        }
        if (!p.receipts) return
        const tick = this.sentTicks.find((t) => t.seq === msg.seq && t.paymentHash !== null)
        if (!tick) return
        const hash = createHash('sha256').update(msg.preimage).digest('hex')
        if (hash !== tick.paymentHash) return
        this.send({
          type: 'tick_receipt',
          sessionId: this.sessionId,
          seq: msg.seq,
          paidUntil: (msg.seq + 1) * this.tickSeconds
        })
        return
      }
      default:
        return
    }
  }
}

export class FakeProvider {
  readonly net: TestNetwork
  readonly swarm: PeerSwarm
  readonly kind: number
  readonly satsPerMinute: number
  readonly tickSeconds: number
  readonly graceSeconds: number
  readonly ackSatsPerMinute: number
  readonly ackTickSeconds: number
  readonly ackGraceSeconds: number
  readonly receipts: boolean
  readonly onResume: FakeProviderOptions['onResume'] | null
  readonly channelsOpened: number
  /** session_resume messages answered by onResume. */
  resumes = 0
  /** What skill_response.identity carries: null, or a (possibly hostile) binding event. */
  identity: string | null = null
  readonly connections: FakeSession[] = []
  /** Errors thrown by the honest part or the scenario; a test should expect none. */
  readonly errors: Error[] = []
  private readonly scenario: FakeProviderOptions['scenario']
  private scenarioRun: Promise<FakeSession> | null = null
  private onScenario!: (s: FakeSession) => void
  private readonly scenarioStarted: Promise<FakeSession>

  constructor(net: TestNetwork, opts: FakeProviderOptions) {
    this.net = net
    this.kind = opts.kind ?? 5200
    this.satsPerMinute = opts.satsPerMinute ?? 5
    this.tickSeconds = opts.tickSeconds ?? 2
    this.graceSeconds = opts.graceSeconds ?? 5
    this.ackSatsPerMinute = opts.ackSatsPerMinute ?? this.satsPerMinute
    this.ackTickSeconds = opts.ackTickSeconds ?? this.tickSeconds
    this.ackGraceSeconds = opts.ackGraceSeconds ?? this.graceSeconds
    this.onResume = opts.onResume ?? null
    this.channelsOpened = opts.channelsOpened ?? Infinity
    this.receipts = opts.receipts ?? true
    this.scenario = opts.scenario
    this.scenarioStarted = new Promise((resolve) => (this.onScenario = resolve))
    this.swarm = new PeerSwarm({ network: { bootstrap: net.devnet.state.bootstrap } })
    this.swarm.on('connection', (conn: Connection) => {
      try {
        this.connections.push(new FakeSession(this, conn))
      } catch (err) {
        this.errors.push(err as Error)
      }
    })
  }

  get swarmKey(): string {
    return Buffer.from(this.swarm.publicKey).toString('hex')
  }

  /** The session whose scenario runs (the first session_start). */
  session(): Promise<FakeSession> {
    return this.scenarioStarted
  }

  /**
   * Resolves with the session once its scenario has returned; rejects with the scenario's error.
   * Call it after the customer has ended, to prove the scenario really sent what it meant to.
   */
  async scenarioDone(): Promise<FakeSession> {
    await this.scenarioStarted
    return this.scenarioRun as Promise<FakeSession>
  }

  /** @internal */
  startScenario(s: FakeSession): void {
    if (this.scenarioRun) {
      this.errors.push(new Error('a second session_start arrived'))
      return
    }
    this.scenarioRun = (async () => {
      await this.scenario(s)
      return s
    })()
    this.scenarioRun.catch(() => {})
    this.onScenario(s)
  }

  async close(): Promise<void> {
    for (const s of this.connections) s.close()
    await this.swarm.destroy(200)
  }
}

/** Starts a fake provider and announces it on its kind's topic. */
export async function startFakeProvider(net: TestNetwork, opts: FakeProviderOptions): Promise<FakeProvider> {
  const fake = new FakeProvider(net, opts)
  await fake.swarm.announce([fake.kind])
  return fake
}
