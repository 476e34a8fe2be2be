// The provider's side of the tunnel: every paid stream is read as HTTP/1.1 and forwarded to the
// one upstream the provider was configured with (SPEC §6.2). The customer chooses nothing about
// where bytes go: absolute-form targets and CONNECT are refused, Host and Origin are rewritten
// to the upstream's own (Gradio rejects foreign ones), and denied paths get 403.
//
// Only request heads are parsed and rewritten (./http1.ts). Request bodies and whole responses
// pass as the bytes they are, scanned only for where each message ends, so that keep-alive and
// pipelined requests stay in step; one exchange at a time on each stream, in order.
//
// Invariants:
// - The target the deny list is checked against is, byte for byte, the target the upstream gets:
//   each target is canonicalised once (canonicalTarget), and that is the target written.
// - A request the gateway and the upstream could frame differently (Transfer-Encoding beside
//   Content-Length, obs-fold, two lengths) is refused, never forwarded.
// - Each session has its own pool of upstream connections (UPSTREAM_SOCKETS_PER_SESSION): a
//   session that holds many long requests queues behind itself, never in front of another
//   session. An upgraded connection (a WebSocket) is its own, outside the pool.

import { createRequire } from 'node:module'
import http from 'node:http'
import net from 'node:net'
import type { Readable } from 'node:stream'
import tls from 'node:tls'
import type { Duplex } from 'node:stream'
import { CliError } from '@2020117/cli'
import type { GatewayErrorCode } from '@2020117/protocol'
import {
  BodyScanner,
  HeadError,
  headEnd,
  MAX_REQUEST_HEAD_BYTES,
  MAX_RESPONSE_HEAD_BYTES,
  parseRequestHead,
  parseResponseHead,
  requestHeadBytes,
  type RequestHead
} from './http1.js'

/** Upstream connections one session may hold at once; its further requests wait for one of them. */
export const UPSTREAM_SOCKETS_PER_SESSION = 128
/** How long a stream may take to send a whole request head, or sit idle between requests. */
const HEAD_TIMEOUT_MS = 65_000
const CONNECT_TIMEOUT_MS = 10_000
/** Bytes read ahead of what is forwarded, per side of an exchange, before that side is paused. */
const MAX_READ_AHEAD = 64 * 1024

// The very function http-proxy builds an outgoing path with (it folds `//` and turns `http:/` into
// `http://`): a canonical target it would change is still refused, as SPEC §6.2 rule 5 says, so
// that the customer's session (which forwards with http-proxy) and this gateway agree.
const { urlJoin } = createRequire(import.meta.url)('http-proxy/lib/http-proxy/common.js') as {
  urlJoin: (...parts: string[]) => string
}

export interface GatewayOptions {
  upstream: URL
  denyPaths: string[]
  log: (msg: string, fields?: Record<string, unknown>) => void
}

export interface GatewayStats {
  requests: number
  upgrades: number
  refused: number
  upstreamErrors: number
}

type Refusal = [status: number, code: GatewayErrorCode, message: string]

/** How an exchange left the stream: ready for the next request, or done with. */
type Outcome = 'next' | 'close'

export class Gateway {
  readonly stats: GatewayStats = { requests: 0, upgrades: 0, refused: 0, upstreamErrors: 0 }
  private readonly upstream: URL
  private readonly denyPaths: string[]
  private readonly log: GatewayOptions['log']
  private readonly pools = new Map<string, UpstreamPool>()
  private readonly streams = new Set<Duplex>()

  constructor(opts: GatewayOptions) {
    this.upstream = opts.upstream
    this.denyPaths = opts.denyPaths.map(denyRule)
    this.log = opts.log
  }

  /** Serves one tunnel stream of `session` as an HTTP connection. */
  handle(stream: Duplex, session: string): void {
    stream.on('error', () => {})
    this.streams.add(stream)
    stream.once('close', () => this.streams.delete(stream))
    this.serve(stream, this.pool(session)).catch((err) => {
      this.log('gateway error', { error: (err as Error).message })
      stream.destroy()
    })
  }

  /** Drops the upstream connections of a session that has ended. */
  release(session: string): void {
    this.pools.get(session)?.destroy()
    this.pools.delete(session)
  }

  close(): void {
    for (const s of this.streams) s.destroy()
    this.streams.clear()
    for (const pool of this.pools.values()) pool.destroy()
    this.pools.clear()
  }

  private pool(session: string): UpstreamPool {
    let pool = this.pools.get(session)
    if (!pool) {
      pool = new UpstreamPool(() => dial(this.upstream), UPSTREAM_SOCKETS_PER_SESSION)
      this.pools.set(session, pool)
    }
    return pool
  }

  /** Request after request on one stream, each answered before the next is read. */
  private async serve(stream: Duplex, pool: UpstreamPool): Promise<void> {
    const from = new Source(stream)
    for (;;) {
      let req: RequestHead
      try {
        const head = await from.head(MAX_REQUEST_HEAD_BYTES, HEAD_TIMEOUT_MS)
        if (!head) return void stream.end()
        req = parseRequestHead(head)
      } catch (err) {
        if (!(err instanceof HeadError)) return void stream.destroy()
        this.stats.refused++
        return void stream.end(errorResponse(err.status, headErrorCode(err.status), err.message, false))
      }
      const refused = this.admit(req)
      if (refused) {
        this.stats.refused++
        // A refused request's body is not read: the stream ends after the answer instead.
        const keep = req.keepAlive && !req.upgrade && req.body.kind === 'none'
        const answer = errorResponse(...refused, keep)
        if (!keep) return void stream.end(answer)
        if (!(await write(stream, answer))) return
        continue
      }
      this.rewrite(req)
      if (req.upgrade) this.stats.upgrades++
      else this.stats.requests++
      if ((await this.exchange(stream, from, req, pool)) === 'close') return
    }
  }

  /** Refuses what may not be forwarded; otherwise sets the target to its canonical form, the one checked. */
  private admit(req: RequestHead): Refusal | null {
    if (req.method === 'CONNECT')
      return [405, 'METHOD_NOT_ALLOWED', "CONNECT is not served: the tunnel reaches only the provider's service"]
    const canonical = canonicalTarget(req.target)
    if (typeof canonical === 'string') return [400, 'BAD_REQUEST_TARGET', canonical]
    if (this.denied(canonical.path)) return [403, 'PATH_DENIED', 'the provider does not serve this path']
    req.target = canonical.target
    return null
  }

  private denied(path: string): boolean {
    const p = comparable(path)
    return this.denyPaths.some((d) => p === d || p.startsWith(d.endsWith('/') ? d : d + '/'))
  }

  /** Host and Origin become the upstream's own; X-Forwarded-For is dropped (it would be the customer's word). */
  private rewrite(req: RequestHead): void {
    req.headers = req.headers
      .filter(([name]) => name.toLowerCase() !== 'x-forwarded-for')
      .map(([name, value]): [string, string] => {
        const lower = name.toLowerCase()
        if (lower === 'host') return [name, this.upstream.host]
        if (lower === 'origin') return [name, this.upstream.origin]
        return [name, value]
      })
    if (req.minor === 0 && !req.headers.some(([name]) => name.toLowerCase() === 'host'))
      req.headers.unshift(['host', this.upstream.host])
  }

  /** One request forwarded and its response passed back; says whether the stream goes on. */
  private async exchange(stream: Duplex, from: Source, req: RequestHead, pool: UpstreamPool): Promise<Outcome> {
    let up: Upstream
    try {
      up = req.upgrade ? await pool.dedicated() : await pool.acquire()
    } catch (err) {
      return this.upstreamFailed(stream, err as Error, false)
    }
    if (stream.destroyed) {
      pool.release(up, true)
      return 'close'
    }
    up.socket.write(requestHeadBytes(req))
    const requestBody = new BodyScanner(req.body, 400)
    let badBody: HeadError | null = null
    const sending = forward(from, up.socket, requestBody).catch((err: Error) => {
      // A body that cannot be framed must not leave the upstream waiting for the rest of it.
      if (err instanceof HeadError) badBody = err
      up.socket.destroy()
      return err
    })
    let answered = false
    try {
      for (;;) {
        const head = await up.from.head(MAX_RESPONSE_HEAD_BYTES)
        if (!head) throw new Error('the connection closed before a response')
        const res = parseResponseHead(head, req)
        if (res.status === 101) {
          if (!req.upgrade) throw new Error('101 Switching Protocols to a request that asked for no upgrade')
          answered = true
          splice(stream, from, up, head)
          return 'close'
        }
        // 100 Continue and 103 Early Hints pass as they are; the final response follows them.
        if (res.status < 200) {
          answered = true
          if (!(await write(stream, head))) throw new Error('the stream closed')
          continue
        }
        answered = true
        const body = new BodyScanner(res.body, 502)
        const complete = await passResponse(head, up.from, stream, body)
        const sent = requestBody.done && !((await sending) instanceof Error)
        const reusable = complete && sent && res.keepAlive && req.keepAlive && res.body.kind !== 'close'
        pool.release(up, reusable && up.from.idle())
        if (reusable) return 'next'
        if (complete) stream.end()
        else stream.destroy()
        return 'close'
      }
    } catch (err) {
      pool.release(up, false)
      const bad = badBody as HeadError | null
      if (bad && !answered) {
        this.stats.refused++
        stream.end(errorResponse(bad.status, 'BAD_REQUEST', bad.message, false))
        return 'close'
      }
      return this.upstreamFailed(stream, err as Error, answered)
    }
  }

  /** The upstream failed mid-exchange: a 502 if nothing of the response was sent yet, else the stream is cut. */
  private upstreamFailed(stream: Duplex, err: Error, answered: boolean): Outcome {
    this.stats.upstreamErrors++
    this.log('upstream error', { error: err.message })
    if (answered || stream.destroyed) stream.destroy()
    else
      stream.end(
        errorResponse(502, 'UPSTREAM_UNAVAILABLE', `the provider's service did not answer: ${err.message}`, false)
      )
    return 'close'
  }
}

/** A connection to the upstream, with what it sent and nobody has read yet. */
interface Upstream {
  socket: net.Socket
  from: Source
  /** Whether it counts against its pool (an upgrade's does not). */
  pooled: boolean
}

/**
 * One session's upstream connections: at most `max` at once, kept alive between exchanges and
 * handed to the next request of the same session; a request finding none free waits for one.
 */
class UpstreamPool {
  private readonly idle: Upstream[] = []
  private readonly all = new Set<Upstream>()
  private readonly waiting: Array<{ resolve: (u: Upstream) => void; reject: (err: Error) => void }> = []
  private pooled = 0
  private closed = false

  constructor(
    private readonly connect: () => Promise<net.Socket>,
    private readonly max: number
  ) {}

  async acquire(): Promise<Upstream> {
    if (this.closed) throw new Error('the session has ended')
    for (let u = this.idle.pop(); u; u = this.idle.pop()) if (!u.socket.destroyed) return u
    if (this.pooled < this.max) return this.open(true)
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  /** A connection outside the limit, for an upgrade. */
  dedicated(): Promise<Upstream> {
    if (this.closed) return Promise.reject(new Error('the session has ended'))
    return this.open(false)
  }

  /** Gives a connection back after an exchange: to a waiting request, to the idle list, or closed. */
  release(u: Upstream, reusable: boolean): void {
    if (this.closed || !u.pooled || !reusable || u.socket.destroyed) {
      u.socket.destroy()
      return
    }
    const next = this.waiting.shift()
    if (next) next.resolve(u)
    else this.idle.push(u)
  }

  destroy(): void {
    this.closed = true
    for (const u of this.all) u.socket.destroy()
    for (const w of this.waiting.splice(0)) w.reject(new Error('the session has ended'))
  }

  private async open(pooled: boolean): Promise<Upstream> {
    if (pooled) this.pooled++
    let socket: net.Socket
    try {
      socket = await this.connect()
    } catch (err) {
      if (pooled) this.gone()
      throw err
    }
    const u: Upstream = { socket, from: new Source(socket), pooled }
    this.all.add(u)
    socket.once('close', () => {
      this.all.delete(u)
      const i = this.idle.indexOf(u)
      if (i >= 0) this.idle.splice(i, 1)
      if (pooled) this.gone()
    })
    if (this.closed) socket.destroy()
    return u
  }

  /** A pooled connection closed: its place goes to the first request waiting, if any. */
  private gone(): void {
    this.pooled--
    const next = this.waiting.shift()
    if (next && !this.closed) this.open(true).then(next.resolve, next.reject)
  }
}

function dial(upstream: URL): Promise<net.Socket> {
  const secure = upstream.protocol === 'https:'
  const port = Number(upstream.port) || (secure ? 443 : 80)
  const host = upstream.hostname.replace(/^\[|\]$/g, '')
  return new Promise((resolve, reject) => {
    // noDelay: a request head and its body must not wait for the upstream's delayed ACK.
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port, noDelay: true })
    if (secure) socket.setNoDelay(true)
    const timer = setTimeout(
      () => socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`)),
      CONNECT_TIMEOUT_MS
    )
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer)
      socket.off('error', reject)
      socket.on('error', () => {})
      resolve(socket)
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
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

  /** Nothing read ahead: the side sent nothing past the last message. */
  idle(): boolean {
    return this.size === 0 && !this.ended
  }

  /** The next bytes, null once the side has ended. */
  async next(): Promise<Buffer | null> {
    while (this.chunks.length === 0) {
      if (this.ended) return null
      await this.wait()
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
   * The next message head, up to and including its empty line; null if the side ended cleanly
   * before sending any of it. Throws HeadError past `max` bytes, or when it ends halfway.
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

/** Writes and waits for the stream to take more; false if it closed. */
function write(stream: Duplex | net.Socket, data: Buffer): Promise<boolean> {
  if (stream.destroyed) return Promise.resolve(false)
  if (stream.write(data)) return Promise.resolve(true)
  return drained(stream)
}

function drained(stream: Duplex | net.Socket): Promise<boolean> {
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

/** A request body, from the stream to the upstream, as the bytes it is; what follows it stays in `from`. */
async function forward(from: Source, to: net.Socket, body: BodyScanner): Promise<void> {
  while (!body.done) {
    const chunk = await from.next()
    if (!chunk) throw new Error('the stream ended inside a request body')
    const n = body.scan(chunk)
    if (n < chunk.length) from.unshift(chunk.subarray(n))
    if (!(await write(to, n === chunk.length ? chunk : chunk.subarray(0, n)))) throw new Error('the upstream closed')
  }
}

/**
 * A response, from the upstream to the stream, as the bytes it is: the head waits for the first
 * body bytes and goes with them, in one write (one frame: SPEC §4, "Frames"). True once the
 * response is complete; false if either side closed first.
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

/** After 101 Switching Protocols: the stream and the upstream connection are joined, byte for byte. */
function splice(stream: Duplex, from: Source, up: Upstream, head: Buffer): void {
  const upstreamSent = up.from.detach()
  const streamSent = from.detach()
  stream.cork()
  stream.write(head)
  for (const chunk of upstreamSent) stream.write(chunk)
  stream.uncork()
  for (const chunk of streamSent) up.socket.write(chunk)
  up.socket.pipe(stream)
  stream.pipe(up.socket)
  stream.resume()
  up.socket.resume()
  stream.once('close', () => up.socket.destroy())
  up.socket.once('close', () => stream.destroy())
}

function errorResponse(status: number, code: GatewayErrorCode, message: string, keepAlive: boolean): Buffer {
  const body = JSON.stringify({ error: { code, message } })
  return Buffer.from(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n${body}`
  )
}

function headErrorCode(status: number): GatewayErrorCode {
  if (status === 431) return 'HEADERS_TOO_LARGE'
  if (status === 501) return 'NOT_IMPLEMENTED'
  return 'BAD_REQUEST'
}

const UNRESERVED = /^[A-Za-z0-9._~-]$/

/**
 * The one canonical form of an origin-form request target (SPEC §6.2), or why it has none. Only
 * printable ASCII without `\\` or `#`. In the path: escapes of unreserved characters are decoded,
 * other escapes get upper-case hex, `%2F`, `%5C` and escaped control characters are refused,
 * repeated slashes fold, the characters WHATWG percent-encodes in a path are encoded, and dot
 * segments are removed (RFC 3986 §5.2.4). The query is kept as sent.
 */
export function canonicalTarget(raw: string): { target: string; path: string } | string {
  if (!raw.startsWith('/')) return 'only origin-form request targets (/path?query) are served'
  if (!/^[\x21-\x7e]*$/.test(raw))
    return 'control characters, spaces and non-ASCII bytes in a request target must be percent-encoded'
  if (raw.includes('\\')) return 'a backslash in a request target is ambiguous: it is refused'
  if (raw.includes('#')) return 'a fragment (#) does not belong in a request target'
  const q = raw.indexOf('?')
  const decoded = decodeUnreserved(q < 0 ? raw : raw.slice(0, q))
  if (decoded === null) return 'the path has a malformed escape, or an escaped /, \\ or control character'
  const encoded = decoded
    .replace(/\/{2,}/g, '/')
    .replace(/["<>`{}]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase())
  const path = removeDotSegments(encoded)
  const target = q < 0 ? path : path + raw.slice(q)
  if (urlJoin('', target) !== target) return 'this target cannot be forwarded unchanged'
  return { target, path }
}

/**
 * RFC 3986 §5.2.4 on a path without empty segments: `.` goes, `..` takes the segment before it
 * (never above `/`), and a path ending in either ends in `/`. Not Node's URL parser: Node 20's
 * (Ada 2.9) leaves dot segments after some `:` in place (`/x:/.a/../../admin` stays as it is).
 */
function removeDotSegments(path: string): string {
  const segments = path.split('/').slice(1)
  const out: string[] = []
  for (const [i, segment] of segments.entries()) {
    const dot = segment === '.' || segment === '..'
    if (segment === '..') out.pop()
    if (!dot) out.push(segment)
    else if (i === segments.length - 1) out.push('')
  }
  return '/' + out.join('/')
}

/** Decodes escapes of unreserved characters and upper-cases the others; null for a malformed or refused escape. */
function decodeUnreserved(path: string): string | null {
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const ch = path[i] as string
    if (ch !== '%') {
      out += ch
      continue
    }
    const hex = path.slice(i + 1, i + 3)
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null
    const byte = parseInt(hex, 16)
    if (byte === 0x2f || byte === 0x5c || byte < 0x20 || byte === 0x7f) return null
    const char = String.fromCharCode(byte)
    out += UNRESERVED.test(char) ? char : '%' + hex.toUpperCase()
    i += 2
  }
  return out
}

/**
 * The form a path is compared in against the deny list: every escape decoded and ASCII case
 * folded. A canonical path has no escaped `/`, so this keeps its segments; and an upstream that
 * decodes or ignores case (uvicorn decodes, some file servers fold case) cannot reach a denied
 * path spelled otherwise.
 */
function comparable(path: string): string {
  return path.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))).toLowerCase()
}

function denyRule(path: string): string {
  const canonical = canonicalTarget(path.startsWith('/') ? path : '/' + path)
  if (typeof canonical === 'string' || canonical.target !== canonical.path) {
    const why = typeof canonical === 'string' ? `: ${canonical}` : ' (no query)'
    throw CliError.INVALID_FLAG('deny-path', `must be a path such as /admin, got "${path}"${why}`, '2020117-agent')
  }
  return comparable(canonical.path)
}
