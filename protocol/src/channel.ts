// A typed session channel over protomux (SPEC §6). Both sides run the same state machine, so a
// message that is illegal for the sender is refused by the receiver: the receiver answers with an
// `error` frame carrying the code and closes the channel. Nothing a peer sends can throw out of
// here, because an exception inside a protomux handler would tear down the whole connection; an
// exception in one of our own listeners closes this channel with INTERNAL_ERROR and goes no further.

import { EventEmitter } from 'node:events'
import b4a from 'b4a'
import c, { type Encoding } from 'compact-encoding'
import Protomux, { type Channel, type Message as MuxMessage } from 'protomux'
import { MAX_OUTSTANDING_TICKS, PROTOCOL_NAME, PROTOCOL_VERSION } from './constants.js'
import { ProtocolError } from './errors.js'
import {
  decodeHandshake,
  decodeMessage,
  encodeHandshake,
  frameEncoding,
  type Handshake,
  type Message,
  type MessageOf,
  type MessageType,
  type Role,
  type SessionAck
} from './messages.js'

export type ChannelState = 'opening' | 'idle' | 'starting' | 'active' | 'ended' | 'closed'

export interface SessionChannelOptions {
  role: Role
  /** Free text naming the implementation and its version, e.g. `2020117-agent/0.1.0`. */
  software: string
  /** Protomux channel id, to run more than one session channel on a connection. */
  id?: Uint8Array | null
}

type Listener<T extends MessageType> = (msg: MessageOf<T>) => void

export interface SessionChannel {
  on(event: 'open', listener: (remote: Handshake) => void): this
  on(event: 'message', listener: (msg: Message) => void): this
  on(event: 'close', listener: (err: ProtocolError | null) => void): this
  on(event: 'drain', listener: () => void): this
  on<T extends MessageType>(event: T, listener: Listener<T>): this
  once(event: 'open', listener: (remote: Handshake) => void): this
  once(event: 'close', listener: (err: ProtocolError | null) => void): this
  once<T extends MessageType>(event: T, listener: Listener<T>): this
}

export class SessionChannel extends EventEmitter {
  readonly role: Role
  readonly remoteRole: Role
  readonly mux: Protomux
  state: ChannelState = 'opening'
  remote: Handshake | null = null
  /** The session this channel carries, from session_ack on. */
  session: SessionAck | null = null
  /** Why the channel closed, once it has. */
  closeError: ProtocolError | null = null

  private readonly channel: Channel
  private readonly frames: MuxMessage<Message>
  private skillPending = false
  private nextTickSeq = 0
  private readonly unpaid: number[] = []
  private lastAckedSeq = -1
  private lastReceiptSeq = -1
  private handshakeFailed = false
  /** A session_resume is pending: only session_resumed or session_reject may answer it. */
  private resuming = false
  private readonly openedPromise: Promise<Handshake>

  constructor(muxOrStream: Protomux | object, opts: SessionChannelOptions) {
    super()
    this.role = opts.role
    this.remoteRole = opts.role === 'customer' ? 'provider' : 'customer'
    this.mux = Protomux.isProtomux(muxOrStream) ? (muxOrStream as Protomux) : Protomux.from(muxOrStream)

    let resolveOpen!: (h: Handshake) => void
    let rejectOpen!: (err: ProtocolError) => void
    this.openedPromise = new Promise((resolve, reject) => {
      resolveOpen = resolve
      rejectOpen = reject
    })
    // Callers that only listen for 'close' must not see an unhandled rejection.
    this.openedPromise.catch(() => {})

    const channel = this.mux.createChannel({
      protocol: PROTOCOL_NAME,
      id: opts.id ?? null,
      handshake: c.raw,
      onopen: (raw: Uint8Array) => {
        const err = this.acceptHandshake(raw)
        if (err) {
          // protomux marks the channel opened only after onopen returns; close once it has. Frames
          // that arrive meanwhile are ignored, so the peer hears the handshake's error, not theirs.
          this.handshakeFailed = true
          queueMicrotask(() => this.close(err))
          return
        }
        this.state = 'idle'
        resolveOpen(this.remote as Handshake)
        this.safeEmit('open', this.remote)
      },
      onclose: () => {
        const err = this.closeError ?? (this.state === 'ended' ? null : ProtocolError.CHANNEL_CLOSED())
        this.finish(err)
        rejectOpen(err ?? ProtocolError.CHANNEL_CLOSED())
      },
      ondrain: () => this.safeEmit('drain')
    })
    if (channel === null) throw ProtocolError.INVALID_VALUE('id', 'is already in use by an open session channel')
    this.channel = channel
    // Outgoing messages are encoded straight into the transport's buffer (frameEncoding); incoming
    // frames arrive raw and are decoded, strictly, by onframe.
    this.frames = channel.addMessage<Message>({
      encoding: frameEncoding as unknown as Encoding<Message>,
      onmessage: (frame: unknown) => this.onframe(frame as Uint8Array)
    })
    channel.open(encodeHandshake({ version: PROTOCOL_VERSION, role: opts.role, software: opts.software }))
  }

  /** Resolves with the peer's handshake once both sides agree; rejects if the channel closes first. */
  opened(): Promise<Handshake> {
    return this.openedPromise
  }

  get closed(): boolean {
    return this.state === 'closed'
  }

  /** How many ticks the provider has sent that the customer has not acknowledged. */
  get unpaidTicks(): readonly number[] {
    return this.unpaid
  }

  /**
   * Sends a message. Throws ProtocolError if the message is illegal in the current state or out of
   * its bounds: that is a bug on this side and nothing is sent. Returns the stream's write() result.
   */
  send(msg: Message): boolean {
    if (this.state === 'closed') throw ProtocolError.CHANNEL_CLOSED()
    const err = this.check(this.role, msg)
    if (err) throw err
    // Bounds are checked as the frame is encoded, before anything is written: a throw sends nothing.
    const flushed = this.frames.send(msg)
    this.apply(msg)
    if (msg.type === 'session_end' || msg.type === 'error') this.channel.close()
    return flushed
  }

  /** Closes the channel; with an error, the peer is told its code first. */
  close(err: ProtocolError | null = null): void {
    if (this.state === 'closed') return
    if (err && this.closeError === null) {
      this.closeError = err
      if (!this.channel.closed) {
        try {
          this.frames.send({ type: 'error', code: err.remoteCode ?? err.code, message: err.message.slice(0, 512) })
        } catch {}
      }
    }
    if (!this.channel.closed) this.channel.close()
    else this.finish(this.closeError)
  }

  private acceptHandshake(raw: Uint8Array): ProtocolError | null {
    let remote: Handshake
    try {
      remote = decodeHandshake(raw)
    } catch (err) {
      return err as ProtocolError
    }
    this.remote = remote
    if (remote.version !== PROTOCOL_VERSION) return ProtocolError.VERSION_MISMATCH(PROTOCOL_VERSION, remote.version)
    if (remote.role !== this.remoteRole) return ProtocolError.ROLE_MISMATCH(this.role, remote.role)
    return null
  }

  private onframe(frame: Uint8Array): void {
    if (this.state === 'closed' || this.state === 'ended' || this.handshakeFailed) return
    let msg: Message
    try {
      msg = decodeMessage(frame)
    } catch (err) {
      this.close(err as ProtocolError)
      return
    }
    if (msg.type === 'error') {
      this.closeError = ProtocolError.REMOTE_ERROR(msg.code, msg.message)
      this.safeEmit('message', msg)
      this.channel.close()
      return
    }
    const err = this.check(this.remoteRole, msg)
    if (err) {
      this.close(err)
      return
    }
    this.apply(msg)
    this.safeEmit('message', msg)
    // A listener that failed on this frame closed the channel: the others do not get it.
    if (!this.closed) this.safeEmit(msg.type, msg)
    if (msg.type === 'session_end') this.channel.close()
  }

  /** The state machine of SPEC §6: null if `from` may send `msg` now, else the reason it may not. */
  private check(from: Role, msg: Message): ProtocolError | null {
    const state = this.state
    const illegal = (why = '') => ProtocolError.UNEXPECTED_MESSAGE(msg.type, state, why)
    const sender = (role: Role) => (from === role ? null : illegal(`only the ${role} sends it`))
    const inSession = () => {
      if (state !== 'active') return illegal()
      const s = this.session as SessionAck
      if (!('sessionId' in msg) || !b4a.equals(msg.sessionId, s.sessionId))
        return ProtocolError.UNKNOWN_SESSION(msg.type)
      return null
    }

    switch (msg.type) {
      case 'error':
        return state === 'closed' ? illegal() : null
      case 'skill_request':
        if (state === 'opening' || state === 'ended') return illegal()
        if (this.skillPending) return illegal('a skill_request is already unanswered')
        return sender('customer')
      case 'skill_response':
        if (state === 'opening' || state === 'ended') return illegal()
        if (!this.skillPending) return illegal('no skill_request is pending')
        return sender('provider')
      case 'session_start':
        return sender('customer') ?? (state === 'idle' ? null : illegal())
      case 'session_ack':
        return sender('provider') ?? (state === 'starting' && !this.resuming ? null : illegal())
      case 'session_reject':
        return sender('provider') ?? (state === 'starting' ? null : illegal())
      case 'session_resume':
        return sender('customer') ?? (state === 'idle' ? null : illegal())
      case 'session_resumed':
        return (
          sender('provider') ?? (state === 'starting' && this.resuming ? null : illegal('no session_resume is pending'))
        )
      case 'tick':
      case 'tick_receipt':
        return sender('provider') ?? inSession() ?? this.checkSeq(msg, illegal)
      case 'tick_ack':
        return sender('customer') ?? inSession() ?? this.checkSeq(msg, illegal)
      case 'session_end':
        return inSession() ?? (msg.by === from ? null : illegal('by must name the sender'))
      // Per-stream rules (ids, windows, open/closed) belong to the tunnel, which knows the streams.
      case 'stream_open':
        return sender('customer') ?? (state === 'active' ? null : illegal())
      case 'stream_data':
      case 'stream_credit':
      case 'stream_end':
      case 'stream_reset':
        return state === 'active' ? null : illegal()
    }
  }

  /** The seq rules of the billing messages (SPEC §6), once their sender and session are right. */
  private checkSeq(
    msg: Extract<Message, { type: 'tick' | 'tick_ack' | 'tick_receipt' }>,
    illegal: (why: string) => ProtocolError
  ): ProtocolError | null {
    switch (msg.type) {
      case 'tick':
        if (msg.seq !== this.nextTickSeq) return illegal(`seq ${msg.seq} is out of order, expected ${this.nextTickSeq}`)
        return this.unpaid.length >= MAX_OUTSTANDING_TICKS
          ? illegal(`${this.unpaid.length} ticks are already unpaid`)
          : null
      case 'tick_ack':
        return msg.seq !== this.unpaid[0] ? illegal(`seq ${msg.seq} is not the oldest unpaid tick`) : null
      case 'tick_receipt':
        return msg.seq > this.lastAckedSeq || msg.seq <= this.lastReceiptSeq
          ? illegal(`seq ${msg.seq} was not acknowledged or was already receipted`)
          : null
    }
  }

  private apply(msg: Message): void {
    switch (msg.type) {
      case 'skill_request':
        this.skillPending = true
        break
      case 'skill_response':
        this.skillPending = false
        break
      case 'session_start':
        this.state = 'starting'
        break
      case 'session_reject':
        this.state = 'idle'
        this.resuming = false
        break
      case 'session_resume':
        this.state = 'starting'
        this.resuming = true
        break
      case 'session_resumed':
        // The session goes on where it was: ticks before nextSeq are settled history.
        this.state = 'active'
        this.resuming = false
        this.session = {
          type: 'session_ack',
          sessionId: msg.sessionId,
          satsPerMinute: msg.satsPerMinute,
          tickSeconds: msg.tickSeconds,
          graceSeconds: msg.graceSeconds,
          resumeSecret: new Uint8Array(32)
        }
        this.nextTickSeq = msg.nextSeq
        this.lastAckedSeq = msg.nextSeq - 1
        this.lastReceiptSeq = msg.nextSeq - 1
        break
      case 'session_ack':
        this.state = 'active'
        this.session = msg
        break
      case 'tick':
        this.unpaid.push(msg.seq)
        this.nextTickSeq++
        break
      case 'tick_ack':
        this.unpaid.shift()
        this.lastAckedSeq = msg.seq
        break
      case 'tick_receipt':
        this.lastReceiptSeq = msg.seq
        break
      case 'session_end':
        this.state = 'ended'
        break
    }
  }

  private finish(err: ProtocolError | null): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.closeError = err
    this.safeEmit('close', err)
  }

  /**
   * A listener that throws must neither unwind into protomux, which would destroy the whole
   * connection, nor escape to the process, which would end every other session with it (the
   * handlers run on peer frames). It closes this channel only, with INTERNAL_ERROR, and the owner
   * hears that on 'close' (the cause is kept there). A throw from a 'close' listener has no channel
   * left to close and is dropped.
   */
  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args)
    } catch (err) {
      if (event === 'close') return
      const failure = ProtocolError.INTERNAL_ERROR(err)
      // protomux marks the channel opened only after onopen returns (see the handshake above).
      if (event === 'open') queueMicrotask(() => this.close(failure))
      else this.close(failure)
    }
  }
}
