// Tunnel streams over a session channel (SPEC §4, "Tunnel streams"). Each stream is a Node Duplex
// carrying one local TCP connection. Credit-based flow control gives every stream its own
// backpressure: a slow reader stops its writer without holding up the other streams or the
// billing messages, and no side ever buffers more than one window per stream.
//
// The provider can also stop every stream from carrying data (`carries`, SPEC §4 "Payment gate"):
// at paidUntil + grace it sends no data, delivers nothing it receives and grants no credit, so a
// customer that stopped paying gets at most what was already in flight, one window per stream.
// The streams stay open, and a late payment (`resume()`) lets them carry on where they stopped.

import { EventEmitter } from 'node:events'
import { Duplex } from 'node:stream'
import {
  isStreamResetCode,
  MAX_OPEN_STREAMS,
  MAX_STREAM_CHUNK,
  ProtocolError,
  STREAM_AUTO_WINDOW,
  STREAM_INITIAL_WINDOW,
  TUNNEL_WINDOW_BUDGET,
  type SessionChannel,
  type StreamCredit,
  type StreamData,
  type StreamEnd,
  type StreamOpen,
  type StreamReset,
  type StreamResetCode
} from '@2020117/protocol'

export interface TunnelOptions {
  /**
   * Provider only: decides whether to serve a new stream. Returns null to accept it, or a
   * stream_reset code (PAYMENT_REQUIRED, ...) to refuse it.
   */
  admit?: (streamId: number) => StreamResetCode | null
  /**
   * Provider only: whether open streams may carry data now. While false, no stream sends data,
   * delivers what arrives or grants credit; call `resume()` once it is true again.
   */
  carries?: () => boolean
  maxOpenStreams?: number
}

export interface TunnelStats {
  /** Payload bytes sent / received on all streams. */
  bytesSent: number
  bytesReceived: number
  streamsOpened: number
}

export interface Tunnel {
  on(event: 'stream', listener: (stream: TunnelStream) => void): this
}

export class Tunnel extends EventEmitter {
  readonly channel: SessionChannel
  readonly stats: TunnelStats = { bytesSent: 0, bytesReceived: 0, streamsOpened: 0 }
  private readonly streams = new Map<number, TunnelStream>()
  private readonly admit: (streamId: number) => StreamResetCode | null
  private readonly carries: () => boolean
  private readonly maxOpenStreams: number
  private highestId = 0
  /** Receive window bytes above STREAM_INITIAL_WINDOW held by all streams (≤ TUNNEL_WINDOW_BUDGET). */
  private windowExtra = 0
  private drainWaiters: Array<() => void> = []
  private destroyed = false

  constructor(channel: SessionChannel, opts: TunnelOptions = {}) {
    super()
    this.channel = channel
    this.admit = opts.admit ?? (() => null)
    this.carries = opts.carries ?? (() => true)
    this.maxOpenStreams = opts.maxOpenStreams ?? MAX_OPEN_STREAMS
    channel.on('stream_open', (m: StreamOpen) => this.onopen(m))
    channel.on('stream_data', (m: StreamData) => this.ondata(m))
    channel.on('stream_credit', (m: StreamCredit) => this.oncredit(m))
    channel.on('stream_end', (m: StreamEnd) => this.onend(m))
    channel.on('stream_reset', (m: StreamReset) => this.onreset(m))
    channel.on('drain', () => this.ondrain())
    channel.on('close', () => this.destroy('SESSION_CLOSED'))
  }

  get openStreams(): number {
    return this.streams.size
  }

  /** Whether streams may carry data now (see `TunnelOptions.carries`). */
  get carrying(): boolean {
    return !this.destroyed && this.carries()
  }

  /** Lets held streams carry data again, once `carries` says so: what arrived meanwhile is delivered. */
  resume(): void {
    if (!this.carrying) return
    for (const s of [...this.streams.values()]) s.release()
  }

  /** Customer only: opens a new stream to the provider's upstream. */
  openStream(): TunnelStream {
    if (this.destroyed) throw ProtocolError.CHANNEL_CLOSED()
    const id = ++this.highestId
    const stream = this.register(id)
    this.channel.send({ type: 'stream_open', streamId: id })
    return stream
  }

  /** Closes every stream; the channel itself is left to its owner. */
  destroy(code = 'CANCELLED'): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const s of this.streams.values()) s.abort(code, 'the session ended')
    this.streams.clear()
    this.windowExtra = 0
    for (const w of this.drainWaiters.splice(0)) w()
  }

  // -- used by TunnelStream ---------------------------------------------------------------------

  /**
   * Sends a frame; true if the channel can take more now, or is gone (nothing more will be sent),
   * false when a writer should wait for `whenDrained`. Control frames are sent regardless.
   */
  trySend(msg: StreamData | StreamCredit | StreamEnd | StreamReset): boolean {
    if (this.destroyed || this.channel.closed) return true
    let flushed: boolean
    try {
      flushed = this.channel.send(msg)
    } catch {
      return true
    }
    if (msg.type === 'stream_data') this.stats.bytesSent += msg.data.byteLength
    return flushed
  }

  /** Calls `fn` once the channel can take more, or the tunnel is destroyed. */
  whenDrained(fn: () => void): void {
    if (this.destroyed) fn()
    else this.drainWaiters.push(fn)
  }

  forget(id: number): void {
    const s = this.streams.get(id)
    if (!s) return
    this.windowExtra -= s.extraWindow
    this.streams.delete(id)
  }

  /** Takes `bytes` more receive window for a stream from the tunnel's budget; false when spent. */
  reserveWindow(bytes: number): boolean {
    if (this.destroyed || this.windowExtra + bytes > TUNNEL_WINDOW_BUDGET) return false
    this.windowExtra += bytes
    return true
  }

  // -- incoming frames --------------------------------------------------------------------------

  private register(id: number): TunnelStream {
    const stream = new TunnelStream(this, id)
    this.streams.set(id, stream)
    this.stats.streamsOpened++
    return stream
  }

  private onopen(m: StreamOpen): void {
    if (m.streamId <= this.highestId) {
      this.violation(
        ProtocolError.UNEXPECTED_MESSAGE(
          'stream_open',
          'active',
          `stream id ${m.streamId} is not above ${this.highestId}`
        )
      )
      return
    }
    this.highestId = m.streamId
    const refusal = this.streams.size >= this.maxOpenStreams ? 'TOO_MANY_STREAMS' : this.admit(m.streamId)
    if (refusal !== null) {
      this.trySend({ type: 'stream_reset', streamId: m.streamId, code: refusal, message: refusalText(refusal) })
      return
    }
    this.emit('stream', this.register(m.streamId))
  }

  private lookup(type: string, id: number): TunnelStream | null {
    const s = this.streams.get(id)
    if (s) return s
    // Frames for a stream that was reset or finished are late, not hostile; ids never opened are.
    if (id > this.highestId)
      this.violation(ProtocolError.UNEXPECTED_MESSAGE(type, 'active', `stream ${id} was never opened`))
    return null
  }

  private ondata(m: StreamData): void {
    const s = this.lookup('stream_data', m.streamId)
    if (!s) return
    this.stats.bytesReceived += m.data.byteLength
    const err = s.receive(m.data)
    if (err) this.violation(err)
  }

  private oncredit(m: StreamCredit): void {
    this.lookup('stream_credit', m.streamId)?.credit(m.bytes)
  }

  private onend(m: StreamEnd): void {
    this.lookup('stream_end', m.streamId)?.remoteEnded()
  }

  private onreset(m: StreamReset): void {
    const s = this.streams.get(m.streamId)
    if (s) s.abort(m.code, m.message)
  }

  private ondrain(): void {
    for (const w of this.drainWaiters.splice(0)) w()
  }

  private violation(err: ProtocolError): void {
    this.channel.close(err)
  }
}

function refusalText(code: StreamResetCode): string {
  switch (code) {
    case 'PAYMENT_REQUIRED':
      return 'the session is not paid: wait for the tick receipt'
    case 'TOO_MANY_STREAMS':
      return `the session already has ${MAX_OPEN_STREAMS} open streams`
    default:
      return code.toLowerCase().replace(/_/g, ' ')
  }
}

export class StreamResetError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message ? `stream reset (${code}): ${message}` : `stream reset (${code})`)
    this.name = 'StreamResetError'
    this.code = code
  }
}

/** One tunnelled connection. Write to send to the peer; read what the peer sent. */
export class TunnelStream extends Duplex {
  readonly id: number
  /** For code that expects a net.Socket (node:http does). */
  readonly remoteAddress = '127.0.0.1'
  readonly remotePort = 0
  private readonly tunnel: Tunnel
  private sendWindow = STREAM_INITIAL_WINDOW
  private creditWaiter: (() => void) | null = null
  /** The payloads of the write in progress, and how far they are sent (see `send`). */
  private sending: { payloads: Buffer[]; index: number; offset: number; done: () => void } | null = null
  /** Credit the peer still has: what it may send before the next stream_credit. */
  private recvWindow = STREAM_INITIAL_WINDOW
  /** What this side lets be in flight plus unread: grows while the consumer keeps up (grow()). */
  private window = STREAM_INITIAL_WINDOW
  private pushedTotal = 0
  /** Bytes the consumer had taken when it last fell behind or the window last grew. */
  private keptUpFrom = 0
  private localEnded = false
  private remoteEnd = false
  private reset = false
  /** Data (and the end) that arrived while the tunnel did not carry, in order: at most one window. */
  private readonly held: Buffer[] = []
  private heldEnd = false

  constructor(tunnel: Tunnel, id: number) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: STREAM_INITIAL_WINDOW,
      writableHighWaterMark: MAX_STREAM_CHUNK
    })
    this.tunnel = tunnel
    this.id = id
  }

  // Node's http server calls these on sockets; a tunnel stream has no socket options to set.
  setTimeout(_ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb)
    return this
  }
  setNoDelay(): this {
    return this
  }
  setKeepAlive(): this {
    return this
  }

  /** @internal Receive window above STREAM_INITIAL_WINDOW, taken from the tunnel's budget. */
  get extraWindow(): number {
    return this.window - STREAM_INITIAL_WINDOW
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.send([chunk], cb)
  }

  // Writes that queued meanwhile (or were corked together, as node:http does with a response's head
  // and its first body bytes) go in as few frames as they fit in: a small response crosses in one.
  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    this.send(coalesce(chunks.map((c) => c.chunk)), cb)
  }

  /**
   * Sends `payloads` as stream_data frames within the send window, then calls `done`. Synchronous
   * while the window and the channel allow (a request or a small response costs no promise and
   * no extra turn of the event loop); otherwise it goes on from `pump` on the next credit, resume
   * or drain. Node calls _write again only after `done`, so one send at most is ever pending.
   */
  private send(payloads: Buffer[], done: () => void): void {
    this.sending = { payloads, index: 0, offset: 0, done }
    this.pump(false)
  }

  /**
   * `resumed`: called from a credit, a resume or a drain. `done` then runs on a microtask, never
   * inside those: it runs the writer's own code (callbacks, 'drain' listeners), and a throw there
   * must not stop a resume() halfway through its streams or close the channel from inside a frame
   * handler.
   */
  private pump(resumed: boolean): void {
    const s = this.sending
    if (!s) return
    while (s.index < s.payloads.length && !this.reset) {
      const chunk = s.payloads[s.index] as Buffer
      // Node writes empty chunks too: they take no window, and no frame carries them.
      if (chunk.byteLength === 0) {
        s.index++
        continue
      }
      if (this.sendWindow === 0 || !this.tunnel.carrying) {
        this.creditWaiter = () => this.pump(true)
        return
      }
      const n = Math.min(chunk.byteLength - s.offset, this.sendWindow, MAX_STREAM_CHUNK)
      const data = n === chunk.byteLength ? chunk : chunk.subarray(s.offset, s.offset + n)
      s.offset += n
      if (s.offset === chunk.byteLength) {
        s.index++
        s.offset = 0
      }
      this.sendWindow -= n
      if (!this.tunnel.trySend({ type: 'stream_data', streamId: this.id, data })) {
        this.tunnel.whenDrained(() => this.pump(true))
        return
      }
    }
    this.sending = null
    if (resumed) queueMicrotask(s.done)
    else s.done()
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.localEnded = true
    if (!this.reset) this.tunnel.trySend({ type: 'stream_end', streamId: this.id })
    this.maybeFinished()
    cb()
  }

  // Credit is granted as the consumer takes data, never from _read(): Node stops calling _read()
  // while a read is pending, and when the peer's window is spent no push ever comes to unblock it.
  override _read(): void {}

  override read(size?: number): any {
    const chunk = super.read(size)
    this.grantConsumed()
    return chunk
  }

  /** Grants the peer the bytes the consumer has taken, so that buffered + in flight ≤ the window. */
  private grantConsumed(): void {
    if (this.remoteEnd || this.reset || !this.tunnel.carrying) return
    const buffered = this.readableLength
    this.grow(buffered)
    const grant = this.window - this.recvWindow - buffered
    if (grant <= 0) return
    const starving = buffered === 0 && this.recvWindow < this.window / 2
    if (grant < this.window / 4 && !starving) return
    this.recvWindow += grant
    this.tunnel.trySend({ type: 'stream_credit', streamId: this.id, bytes: grant })
  }

  /**
   * Doubles the window, up to STREAM_AUTO_WINDOW and within the tunnel's budget, each time the
   * consumer has taken two windows' worth while keeping what it left unread under a quarter of the
   * window: then the window, not the consumer, is what holds the transfer back. (Not "nothing
   * unread": a consumer that writes to a local socket pauses and resumes with it all the time.) A
   * consumer that falls further behind starts over, and what it may ever have buffered stays
   * bounded by the window it reached.
   */
  private grow(buffered: number): void {
    const consumed = this.pushedTotal - buffered
    if (buffered > this.window / 4) this.keptUpFrom = consumed
    else if (consumed - this.keptUpFrom >= 2 * this.window && this.window < STREAM_AUTO_WINDOW) {
      const more = Math.min(this.window, STREAM_AUTO_WINDOW - this.window)
      if (this.tunnel.reserveWindow(more)) this.window += more
      this.keptUpFrom = consumed
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.reset && !(this.localEnded && this.remoteEnd)) {
      this.reset = true
      // Only SPEC §8.4 codes go on the wire: a local error (ECONNRESET, ...) is sent as CANCELLED.
      const code = (err as { code?: unknown } | null)?.code
      this.tunnel.trySend({
        type: 'stream_reset',
        streamId: this.id,
        code: isStreamResetCode(code) ? code : 'CANCELLED',
        message: ''
      })
    }
    this.reset = true
    this.creditWaiter?.()
    this.tunnel.forget(this.id)
    cb(err)
  }

  /** @internal Data from the peer; returns an error if the peer overran its window. */
  receive(data: Uint8Array): ProtocolError | null {
    if (this.remoteEnd || this.reset) return null
    if (data.byteLength > this.recvWindow)
      return ProtocolError.FLOW_CONTROL_ERROR(this.id, data.byteLength, this.recvWindow)
    this.recvWindow -= data.byteLength
    if (!this.tunnel.carrying) this.held.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
    else this.deliver(data)
    return null
  }

  private deliver(data: Uint8Array): void {
    this.pushedTotal += data.byteLength
    // In flowing mode push() may hand the chunk straight to a 'data' listener.
    this.push(data)
    this.grantConsumed()
  }

  /** @internal The tunnel carries again: deliver what was held, and let the writer go on. */
  release(): void {
    if (this.reset) return
    for (const chunk of this.held.splice(0)) this.deliver(chunk)
    if (this.heldEnd) {
      this.heldEnd = false
      this.push(null)
      this.maybeFinished()
    }
    this.grantConsumed()
    const w = this.creditWaiter
    this.creditWaiter = null
    w?.()
  }

  /** @internal */
  credit(bytes: number): void {
    this.sendWindow += bytes
    const w = this.creditWaiter
    this.creditWaiter = null
    w?.()
  }

  /** @internal */
  remoteEnded(): void {
    if (this.remoteEnd) return
    this.remoteEnd = true
    if (this.held.length > 0 || !this.tunnel.carrying) {
      this.heldEnd = true
      return
    }
    this.push(null)
    this.maybeFinished()
  }

  /** @internal Ends the stream without sending anything more (peer reset, session over). */
  abort(code: string, message: string): void {
    this.reset = true
    this.destroy(new StreamResetError(code, message))
  }

  private maybeFinished(): void {
    if (this.localEnded && this.remoteEnd && !this.heldEnd) this.tunnel.forget(this.id)
  }
}

/**
 * Payloads of at most MAX_STREAM_CHUNK bytes for `chunks`, in order: runs of small chunks are
 * joined (one copy of small data), and a piece that fills a frame by itself is sent as it is.
 */
function coalesce(chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = []
  let run: Buffer[] = []
  let size = 0
  const flush = () => {
    if (run.length > 0) out.push(run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run, size))
    run = []
    size = 0
  }
  for (const chunk of chunks) {
    let offset = 0
    while (offset < chunk.byteLength) {
      if (size === 0 && chunk.byteLength - offset >= MAX_STREAM_CHUNK) {
        out.push(chunk.subarray(offset, offset + MAX_STREAM_CHUNK))
        offset += MAX_STREAM_CHUNK
        continue
      }
      const n = Math.min(MAX_STREAM_CHUNK - size, chunk.byteLength - offset)
      run.push(offset === 0 && n === chunk.byteLength ? chunk : chunk.subarray(offset, offset + n))
      size += n
      offset += n
      if (size === MAX_STREAM_CHUNK) flush()
    }
  }
  flush()
  return out
}
