// One HTTP/1.1 connection relayed to pooled connections of the far side, exchange by exchange:
// each request head is read whole and policed, then the request body and the whole response pass
// as the bytes they are, scanned only for where each ends (./http1.ts). Nothing is re-encoded and
// each body byte is handled once. One exchange at a time per connection, in order: a pipelined
// request waits, read ahead by at most MAX_READ_AHEAD bytes, until the response before it is done.

import type { Duplex, Readable } from 'node:stream'
import {
  BodyScanner,
  HeadError,
  headEnd,
  MAX_REQUEST_HEAD_BYTES,
  MAX_RESPONSE_HEAD_BYTES,
  parseRequestHead,
  dropUpgrade,
  parseResponseHead,
  requestHeadBytes,
  type RequestHead
} from './http1.js'

/** Bytes read ahead of what is forwarded, per side of an exchange, before that side is paused. */
export const MAX_READ_AHEAD = 64 * 1024
/** A client that stops in the middle of a request body for this long is cut off. */
export const BODY_IDLE_MS = 120_000

/** An answer the relay gives itself instead of forwarding. */
export interface Refusal {
  status: number
  code: string
  message: string
}

export interface RelayOptions {
  /** Checks a request head, and may rewrite it: null forwards it, a Refusal answers it here. */
  police: (req: RequestHead) => Refusal | null
  /** The bytes of an answer of the relay's own; `keepAlive` says whether the connection goes on. */
  answer: (refusal: Refusal, keepAlive: boolean) => Buffer
  /** What the client is told (a 502) when the far side fails before any of its response was sent. */
  unavailable: (err: Error) => Refusal
  pool: ConnectionPool
  /** How long a client may take to send a whole request head, or sit idle between requests. */
  headTimeoutMs: number
  /** A request forwarded; a refusal given; the far side failed. For counters and logs. */
  onForward?: (req: RequestHead) => void
  onRefuse?: (refusal: Refusal) => void
  onFailure?: (err: Error) => void
}

/** How an exchange left the connection: ready for the next request, or done with. */
type Outcome = 'next' | 'close'

/** Serves `client` until it closes; never throws (a failure ends the connection). */
export async function relayHttp(client: Duplex, opts: RelayOptions): Promise<void> {
  client.on('error', () => {})
  const from = new Source(client)
  try {
    for (;;) {
      const req = await nextRequest(client, from, opts)
      if (!req) return
      dropUpgrade(req)
      const refused = opts.police(req)
      if (refused) {
        opts.onRefuse?.(refused)
        // A refused request's body is not read: the connection ends after the answer instead.
        const keep = req.keepAlive && !req.upgrade && req.body.kind === 'none'
        const answer = opts.answer(refused, keep)
        if (!keep) return void client.end(answer)
        if (!(await write(client, answer))) return
        continue
      }
      opts.onForward?.(req)
      if ((await exchange(client, from, req, opts)) === 'close') return
    }
  } catch (err) {
    opts.onFailure?.(err as Error)
    client.destroy()
  }
}

/** The next request head, parsed; null once the client is gone or was answered a malformed head. */
async function nextRequest(client: Duplex, from: Source, opts: RelayOptions): Promise<RequestHead | null> {
  try {
    const head = await from.head(MAX_REQUEST_HEAD_BYTES, opts.headTimeoutMs)
    if (!head) {
      client.end()
      return null
    }
    return parseRequestHead(head)
  } catch (err) {
    if (!(err instanceof HeadError)) throw err
    const refusal = { status: err.status, code: headErrorCode(err.status), message: err.message }
    opts.onRefuse?.(refusal)
    client.end(opts.answer(refusal, false))
    return null
  }
}

/** One request forwarded and its response passed back; says whether the connection goes on. */
async function exchange(client: Duplex, from: Source, req: RequestHead, opts: RelayOptions): Promise<Outcome> {
  let far: Far
  try {
    far = req.upgrade ? await opts.pool.dedicated() : await opts.pool.acquire()
  } catch (err) {
    return failed(client, err as Error, false, opts)
  }
  if (client.destroyed) {
    opts.pool.release(far, true)
    return 'close'
  }
  // A client that leaves mid-exchange takes the far connection with it: the far side stops work
  // nobody will read, and the connection is not reused in an unknown state.
  const abandon = () => far.conn.destroy()
  client.once('close', abandon)
  try {
    return await exchangeOn(client, from, req, far, opts)
  } finally {
    client.off('close', abandon)
  }
}

async function exchangeOn(
  client: Duplex,
  from: Source,
  req: RequestHead,
  far: Far,
  opts: RelayOptions
): Promise<Outcome> {
  far.conn.write(requestHeadBytes(req))
  const requestBody = new BodyScanner(req.body, 400)
  let badBody: HeadError | null = null
  const sending = forward(from, far.conn, requestBody).catch((err: Error) => {
    // A body that cannot be framed must not leave the far side waiting for the rest of it.
    if (err instanceof HeadError) badBody = err
    far.conn.destroy()
    return err
  })
  let answered = false
  try {
    for (;;) {
      const head = await far.from.head(MAX_RESPONSE_HEAD_BYTES)
      if (!head) throw new Error('the connection closed before a response')
      const res = parseResponseHead(head, req)
      if (res.status === 101) {
        if (!req.upgrade) throw new Error('101 Switching Protocols to a request that asked for no upgrade')
        answered = true
        if (client.destroyed) throw new Error('the client closed')
        splice(client, from, far, head)
        return 'close'
      }
      // 100 Continue and 103 Early Hints pass as they are; the final response follows them.
      answered = true
      if (res.status < 200) {
        if (!(await write(client, head))) throw new Error('the client closed')
        continue
      }
      const complete = await passResponse(head, far.from, client, new BodyScanner(res.body, 502))
      const sent = requestBody.done && !((await sending) instanceof Error)
      const reusable = complete && sent && res.keepAlive && req.keepAlive && res.body.kind !== 'close'
      opts.pool.release(far, reusable && far.from.idle())
      if (reusable) return 'next'
      if (complete) client.end()
      else client.destroy()
      return 'close'
    }
  } catch (err) {
    opts.pool.release(far, false)
    const bad = badBody as HeadError | null
    if (bad && !answered) {
      const refusal = { status: bad.status, code: 'BAD_REQUEST', message: bad.message }
      opts.onRefuse?.(refusal)
      client.end(opts.answer(refusal, false))
      return 'close'
    }
    return failed(client, err as Error, answered, opts)
  }
}

/** The far side failed: a 502 if nothing of its response was sent yet, else the connection is cut. */
function failed(client: Duplex, err: Error, answered: boolean, opts: RelayOptions): Outcome {
  opts.onFailure?.(err)
  if (answered || client.destroyed) client.destroy()
  else client.end(opts.answer(opts.unavailable(err), false))
  return 'close'
}

function headErrorCode(status: number): string {
  if (status === 431) return 'HEADERS_TOO_LARGE'
  if (status === 501) return 'NOT_IMPLEMENTED'
  return 'BAD_REQUEST'
}

/** A connection to the far side, with what it sent that nobody has read yet. */
export interface Far {
  conn: Duplex
  from: Source
  /** Whether it counts against its pool (an upgrade's does not). */
  pooled: boolean
  idleTimer: NodeJS.Timeout | null
}

export interface PoolOptions {
  /** Opens a connection to the far side. */
  open: () => Promise<Duplex>
  /** Connections at once, upgrades not counted; a request finding none free waits for one. */
  max: number
  /** An idle connection is closed after this long (never, if 0). */
  idleMs?: number
}

/** Connections to the far side, kept alive between exchanges and handed to the next request. */
export class ConnectionPool {
  private readonly opts: PoolOptions
  private readonly idle: Far[] = []
  private readonly all = new Set<Far>()
  private readonly waiting: Array<{ resolve: (far: Far) => void; reject: (err: Error) => void }> = []
  private pooled = 0
  private closed = false

  constructor(opts: PoolOptions) {
    this.opts = opts
  }

  async acquire(): Promise<Far> {
    if (this.closed) throw new Error('the connection pool is closed')
    for (let far = this.idle.pop(); far; far = this.idle.pop()) {
      if (far.idleTimer) clearTimeout(far.idleTimer)
      far.idleTimer = null
      // One the far side has closed, or sent stray bytes on while idle, is not reused.
      if (!far.conn.destroyed && far.from.idle()) return far
      far.conn.destroy()
    }
    if (this.pooled < this.opts.max) return this.open(true)
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  /** A connection outside the limit, for an upgrade. */
  dedicated(): Promise<Far> {
    if (this.closed) return Promise.reject(new Error('the connection pool is closed'))
    return this.open(false)
  }

  /** Gives a connection back after an exchange: to a waiting request, to the idle list, or closed. */
  release(far: Far, reusable: boolean): void {
    if (this.closed || !far.pooled || !reusable || far.conn.destroyed) {
      far.conn.destroy()
      return
    }
    const next = this.waiting.shift()
    if (next) return next.resolve(far)
    this.idle.push(far)
    if (this.opts.idleMs) {
      far.idleTimer = setTimeout(() => far.conn.destroy(), this.opts.idleMs)
      far.idleTimer.unref()
    }
  }

  destroy(): void {
    this.closed = true
    for (const far of this.all) far.conn.destroy()
    for (const w of this.waiting.splice(0)) w.reject(new Error('the connection pool is closed'))
  }

  private async open(pooled: boolean): Promise<Far> {
    if (pooled) this.pooled++
    let conn: Duplex
    try {
      conn = await this.opts.open()
    } catch (err) {
      if (pooled) this.gone()
      throw err
    }
    conn.on('error', () => {})
    const far: Far = { conn, from: new Source(conn), pooled, idleTimer: null }
    this.all.add(far)
    conn.once('close', () => {
      this.all.delete(far)
      if (far.idleTimer) clearTimeout(far.idleTimer)
      const i = this.idle.indexOf(far)
      if (i >= 0) this.idle.splice(i, 1)
      if (pooled) this.gone()
    })
    if (this.closed) conn.destroy()
    return far
  }

  /** A pooled connection closed: its place goes to the first request waiting, if any. */
  private gone(): void {
    this.pooled--
    const next = this.waiting.shift()
    if (next && !this.closed) this.open(true).then(next.resolve, next.reject)
  }
}

/**
 * What one side of an exchange sent, read ahead of what was forwarded by at most
 * MAX_READ_AHEAD: past that the side is paused (a tunnel stream then grants no credit).
 */
class Source {
  private chunks: Buffer[] = []
  private size = 0
  private ended = false
  private wake: (() => void) | null = null
  private readonly stream: Readable

  constructor(stream: Readable) {
    this.stream = stream
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.size += chunk.length
      if (this.size >= MAX_READ_AHEAD) stream.pause()
      this.notify()
    })
    const end = () => {
      this.ended = true
      this.notify()
    }
    stream.once('end', end)
    stream.once('close', end)
  }

  /** Nothing read ahead: the side sent nothing past the last message, and is still there. */
  idle(): boolean {
    return this.size === 0 && !this.ended
  }

  /** The next bytes, null once the side has ended; a side silent for `idleMs` (if not 0) is destroyed. */
  async next(idleMs = 0): Promise<Buffer | null> {
    while (this.chunks.length === 0) {
      if (this.ended) return null
      const timer = idleMs > 0 ? setTimeout(() => this.stream.destroy(), idleMs) : null
      await this.wait()
      if (timer) clearTimeout(timer)
    }
    const chunk = this.chunks.shift() as Buffer
    this.take(chunk.length)
    return chunk
  }

  /** Puts back what belongs to the next message. */
  unshift(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.chunks.unshift(chunk)
    this.size += chunk.length
  }

  /**
   * The next message head, up to and including its empty line; null if the side ended before
   * sending any of it. Throws HeadError past `max` bytes or when the side ends halfway; after
   * `timeoutMs` (if not 0) the side is destroyed.
   */
  async head(max: number, timeoutMs = 0): Promise<Buffer | null> {
    const timer = timeoutMs > 0 ? setTimeout(() => this.stream.destroy(), timeoutMs) : null
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size)
          const end = headEnd(all.subarray(0, max + 4))
          if (end > 0) {
            this.chunks = end < all.length ? [all.subarray(end)] : []
            this.take(end)
            return all.subarray(0, end)
          }
          if (all.length > max)
            throw new HeadError(max === MAX_REQUEST_HEAD_BYTES ? 431 : 502, `a head of over ${max} bytes`)
          this.chunks = [all]
        }
        if (this.ended) {
          if (this.size === 0) return null
          throw new HeadError(400, 'the connection ended inside a head')
        }
        await this.wait()
      }
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  /** Stops reading into this source: what it held is returned, and the stream is the caller's. */
  detach(): Buffer[] {
    this.stream.removeAllListeners('data')
    const held = this.chunks
    this.chunks = []
    this.size = 0
    return held
  }

  private take(bytes: number): void {
    this.size -= bytes
    if (this.size < MAX_READ_AHEAD && this.stream.isPaused()) this.stream.resume()
  }

  private wait(): Promise<void> {
    if (this.stream.isPaused() && this.size < MAX_READ_AHEAD) this.stream.resume()
    return new Promise((resolve) => (this.wake = resolve))
  }

  private notify(): void {
    const wake = this.wake
    this.wake = null
    wake?.()
  }
}

/** Writes and waits until the stream takes more; false if it closed. */
function write(stream: Duplex, data: Buffer): Promise<boolean> {
  if (stream.destroyed) return Promise.resolve(false)
  if (stream.write(data)) return Promise.resolve(true)
  return drained(stream)
}

function drained(stream: Duplex): Promise<boolean> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve(false)
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      stream.off('drain', onDrain)
      stream.off('close', onClose)
      resolve(ok)
    }
    const onDrain = done(true)
    const onClose = done(false)
    stream.once('drain', onDrain)
    stream.once('close', onClose)
  })
}

/** A request body, from the client to the far side, as the bytes it is; what follows it stays in `from`. */
async function forward(from: Source, to: Duplex, body: BodyScanner): Promise<void> {
  while (!body.done) {
    const chunk = await from.next(BODY_IDLE_MS)
    if (!chunk) throw new Error('the client ended inside a request body')
    const n = body.scan(chunk)
    if (n < chunk.length) from.unshift(chunk.subarray(n))
    if (!(await write(to, n === chunk.length ? chunk : chunk.subarray(0, n)))) throw new Error('the far side closed')
  }
}

/**
 * A response, from the far side to the client, as the bytes it is: the head waits for the first
 * body bytes and goes with them, in one write (a tunnel stream sends them in one frame). True once
 * the response is complete; false if either side closed first.
 */
async function passResponse(head: Buffer, from: Source, to: Duplex, body: BodyScanner): Promise<boolean> {
  if (body.done) return write(to, head)
  let pending: Buffer | null = head
  for (;;) {
    const chunk = await from.next()
    if (!chunk) {
      if (pending && body.endsAtClose()) await write(to, pending)
      return body.endsAtClose()
    }
    const n = body.scan(chunk)
    if (n < chunk.length) from.unshift(chunk.subarray(n))
    const part = n === chunk.length ? chunk : chunk.subarray(0, n)
    let ok: boolean
    if (to.destroyed) return false
    if (pending) {
      to.cork()
      to.write(pending)
      pending = null
      ok = to.write(part)
      to.uncork()
      if (!ok) ok = await drained(to)
    } else ok = await write(to, part)
    if (!ok) return false
    if (body.done) return true
  }
}

/** After 101 Switching Protocols: the client and the far connection are joined, byte for byte. */
function splice(client: Duplex, from: Source, far: Far, head: Buffer): void {
  const farSent = far.from.detach()
  const clientSent = from.detach()
  client.cork()
  client.write(head)
  for (const chunk of farSent) client.write(chunk)
  client.uncork()
  for (const chunk of clientSent) far.conn.write(chunk)
  far.conn.pipe(client)
  client.pipe(far.conn)
  client.resume()
  far.conn.resume()
  client.once('close', () => far.conn.destroy())
  far.conn.once('close', () => client.destroy())
}
