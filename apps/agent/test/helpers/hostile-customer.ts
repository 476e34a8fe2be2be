// Hostile customers for end-to-end tests of the real 2020117-agent bin.
//
// A RawCustomer dials the agent under a fresh Hyperswarm key (so that the agent's Hyperswarm never
// takes two of them for one peer) and opens the '2020117/session' protomux channel itself, with no
// state machine of its own: `send()` encodes any message, legal or not, and `sendFrame()` writes
// any bytes as one channel message (unknown types, garbage bodies, floods) — what a well-behaved
// SessionChannel would refuse to send. It records every frame the agent sends back, with the time
// it arrived, so that a test can tell what the agent sent after the customer's paid time and grace.

import HyperDHT from 'hyperdht'
import {
  PROTOCOL_VERSION,
  STREAM_INITIAL_WINDOW,
  decodeMessage,
  encodeHandshake,
  encodeMessage,
  type Message,
  type MessageOf,
  type MessageType,
  type SessionStart
} from '@2020117/protocol'
import { muxFrame, openRawChannel, type RawChannel } from '@2020117/protocol/testing'
import { createDHT, type BootstrapNode, type Connection } from '@2020117/swarm'

/**
 * One DHT node from which the test dials the agent, each time under a new key. With `teardown`
 * (e.g. vitest's afterAll), destroyed there, as startTestNetwork's network is.
 */
export class Dialer {
  readonly dht: HyperDHT
  private readonly conns = new Set<Connection>()

  constructor(bootstrap: BootstrapNode[], opts: { teardown?: (destroy: () => Promise<void>) => void } = {}) {
    this.dht = createDHT({ bootstrap })
    opts.teardown?.(() => this.destroy())
  }

  /** A new encrypted connection to `swarmKey` (hex); a failed dial is retried a few times. */
  async connect(swarmKey: string, attempts = 5): Promise<Connection> {
    for (let i = 1; ; i++) {
      const conn = this.dht.connect(Buffer.from(swarmKey, 'hex'), { keyPair: HyperDHT.keyPair() }) as Connection
      conn.on('error', () => {})
      const open = await new Promise<boolean>((resolve) => {
        conn.once('open', () => resolve(true))
        conn.once('close', () => resolve(false))
      })
      if (open) {
        this.conns.add(conn)
        conn.once('close', () => this.conns.delete(conn))
        return conn
      }
      if (i >= attempts)
        throw new Error(`could not connect to the agent ${swarmKey.slice(0, 8)} in ${attempts} attempts`)
    }
  }

  /** Drops every connection made so far (for afterEach). */
  dropAll(): void {
    for (const conn of this.conns) conn.destroy()
    this.conns.clear()
  }

  async destroy(): Promise<void> {
    this.dropAll()
    await this.dht.destroy()
  }
}

export interface RawCustomerOptions {
  /** The handshake to open the channel with (default: a valid customer handshake). */
  handshake?: Uint8Array
}

export class RawCustomer {
  readonly conn: Connection
  /** Every frame the agent sent on the channel, decoded, in order. */
  readonly received: Message[] = []
  /** When each of `received` arrived (Date.now()). */
  readonly receivedAt: number[] = []
  /** Frames from the agent that did not decode (there should be none). */
  readonly undecodable: string[] = []
  /** Resolves when the channel has closed (either side, or the connection dropped). */
  readonly closed: Promise<void>
  isClosed = false
  isOpen = false

  private readonly channel: RawChannel
  private readonly waiters: Array<() => boolean> = []
  /** Streams whose data is credited back as it arrives, as a reader that keeps up would. */
  private readonly crediting = new Set<number>()
  /** Data bytes sent, per stream. */
  private readonly sent = new Map<number, number>()
  private onclosed!: () => void

  private constructor(conn: Connection, handshake: Uint8Array) {
    this.conn = conn
    this.closed = new Promise((resolve) => (this.onclosed = resolve))
    this.channel = openRawChannel(conn, handshake, {
      onopen: () => {
        this.isOpen = true
        this.wake()
      },
      onclose: () => {
        this.isClosed = true
        this.onclosed()
        this.wake()
      },
      onframe: (frame) => this.onframe(frame)
    })
  }

  /** Dials the agent and opens the session channel; resolves once the agent's handshake is in (or the channel closed). */
  static async open(dialer: Dialer, swarmKey: string, opts: RawCustomerOptions = {}): Promise<RawCustomer> {
    const conn = await dialer.connect(swarmKey)
    const handshake =
      opts.handshake ??
      encodeHandshake({ version: PROTOCOL_VERSION, role: 'customer', software: 'hostile-customer/test' })
    const customer = new RawCustomer(conn, handshake)
    await customer.until(() => customer.isOpen)
    return customer
  }

  /**
   * Opens a session channel on `conn` without waiting for the agent's handshake: on a fresh
   * connection, or on one whose channel has closed (as a customer that wants another session
   * without redialling would).
   */
  static reopen(conn: Connection, handshake?: Uint8Array): RawCustomer {
    return new RawCustomer(
      conn,
      handshake ?? encodeHandshake({ version: PROTOCOL_VERSION, role: 'customer', software: 'hostile-customer/test' })
    )
  }

  /** Encodes and sends any message, with no state checks (encodeMessage still enforces field bounds). */
  send(msg: Message): void {
    this.channel.send(encodeMessage(msg))
    if (msg.type === 'stream_data')
      this.sent.set(msg.streamId, (this.sent.get(msg.streamId) ?? 0) + msg.data.byteLength)
  }

  /** Credits every stream_data on `streamId` as it arrives, so the agent may keep sending. */
  autoCredit(streamId: number): void {
    this.crediting.add(streamId)
  }

  /** What this customer may still send on `streamId`: the initial window plus credit, minus what it sent. */
  sendWindow(streamId: number): number {
    const credit = this.all('stream_credit').reduce((n, c) => (c.streamId === streamId ? n + c.bytes : n), 0)
    return STREAM_INITIAL_WINDOW + credit - (this.sent.get(streamId) ?? 0)
  }

  /**
   * Data bytes the agent delivered, per stream, after paidUntil + grace as this customer knew it
   * when they arrived (SPEC §4, cut-off at the grace): from then on no stream carries data, so only
   * what was already in flight, one window a stream, may come. Also returns the last cut-off seen.
   */
  bytesAfterGrace(): { late: Map<number, number>; cutOffAt: number | null } {
    const late = new Map<number, number>()
    let ackAt: number | null = null
    let grace = 0
    let paidUntil = 0
    this.received.forEach((m, i) => {
      const at = this.receivedAt[i] as number
      if (m.type === 'session_ack') [ackAt, grace, paidUntil] = [at, m.graceSeconds, 0]
      if (m.type === 'tick_receipt') paidUntil = Math.max(paidUntil, m.paidUntil)
      if (m.type === 'stream_data' && ackAt !== null && at > ackAt + (paidUntil + grace) * 1000) {
        late.set(m.streamId, (late.get(m.streamId) ?? 0) + m.data.byteLength)
      }
    })
    return { late, cutOffAt: ackAt === null ? null : (ackAt as number) + (paidUntil + grace) * 1000 }
  }

  /** Sends raw bytes as one channel message. */
  sendFrame(frame: Uint8Array): void {
    this.channel.send(frame)
  }

  /**
   * Writes `frame` on the connection addressed to this channel after it has closed, as a peer that
   * ignores the close would: protomux channel messages are `channel id, message index, payload`,
   * and this channel, the first on its connection, had id 1.
   */
  sendAfterClose(frame: Uint8Array): void {
    this.conn.write(muxFrame(1, frame))
  }

  /** Messages of `type` received so far. */
  all<T extends MessageType>(type: T): MessageOf<T>[] {
    return this.received.filter((m): m is MessageOf<T> => m.type === type)
  }

  /** Resolves once `pred` holds; resolves false instead if the channel closes first. */
  until(pred: () => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (pred()) {
          resolve(true)
          return true
        }
        if (this.isClosed) {
          resolve(false)
          return true
        }
        return false
      }
      if (!check()) this.waiters.push(check)
    })
  }

  /** The first message of `type` satisfying `pred`, already received or still to come; rejects if the channel closes first. */
  async next<T extends MessageType>(type: T, pred: (m: MessageOf<T>) => boolean = () => true): Promise<MessageOf<T>> {
    const find = () => this.all(type).find(pred)
    if (!(await this.until(() => find() !== undefined)) && find() === undefined) {
      throw new Error(
        `the channel closed before a ${type} arrived; received: ${this.received.map((m) => m.type).join(', ') || 'nothing'}`
      )
    }
    return find() as MessageOf<T>
  }

  /** Sends session_start (honest terms unless overridden) and resolves with the agent's answer. */
  async start(
    over: Partial<Omit<SessionStart, 'type'>> = {}
  ): Promise<MessageOf<'session_ack'> | MessageOf<'session_reject'>> {
    const seen = this.received.length
    this.send({
      type: 'session_start',
      kind: 5200,
      budgetSats: 1000,
      maxSatsPerMinute: 5,
      paymentMethod: 'bolt11',
      customerPubkey: null,
      ...over
    })
    const answer = (): Message | undefined =>
      this.received.slice(seen).find((m) => m.type === 'session_ack' || m.type === 'session_reject')
    await this.until(() => answer() !== undefined)
    const m = answer()
    if (!m)
      throw new Error(
        `the channel closed before the agent answered session_start; received: ${this.received.map((x) => x.type).join(', ')}`
      )
    return m as MessageOf<'session_ack'> | MessageOf<'session_reject'>
  }

  /** Sends skill_request and waits for its skill_response: proof the agent still serves this channel. */
  async skill(): Promise<MessageOf<'skill_response'>> {
    const before = this.all('skill_response').length
    this.send({ type: 'skill_request', kind: 5200 })
    if (!(await this.until(() => this.all('skill_response').length > before)))
      throw new Error('the channel closed before the skill_response')
    return this.all('skill_response')[before] as MessageOf<'skill_response'>
  }

  /** Closes the channel from this side. */
  close(): void {
    if (!this.channel.closed) this.channel.close()
  }

  /** Drops the whole connection. */
  destroy(): void {
    this.conn.destroy()
  }

  private onframe(frame: Uint8Array): void {
    try {
      const msg = decodeMessage(frame)
      this.received.push(msg)
      this.receivedAt.push(Date.now())
      if (msg.type === 'stream_data' && this.crediting.has(msg.streamId) && !this.isClosed) {
        this.send({ type: 'stream_credit', streamId: msg.streamId, bytes: msg.data.byteLength })
      }
    } catch (err) {
      this.undecodable.push((err as Error).message)
    }
    this.wake()
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) {
      if (!w()) this.waiters.push(w)
    }
  }
}
