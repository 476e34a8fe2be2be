// The customer's local HTTP front (SPEC §6.3). Every request on the local port, each one of a
// keep-alive connection and every WebSocket upgrade, is checked here before anything enters the
// tunnel: its Host must be this listener's own address (127.0.0.1:PORT, localhost:PORT,
// [::1]:PORT, or the address it is bound to), and its Origin, when there is one, this listener's own
// origin. The agent rewrites Host and Origin for its upstream (§6.2), so without this check any web
// page the customer visits could drive the paid session: a cross-site POST or WebSocket from
// https://evil.example, or a DNS-rebinding name that resolves to 127.0.0.1. A refusal is a 403 with
// a typed JSON error, and the connection stays usable.
//
// What passes goes into a tunnel stream from a pool (@2020117/http1): streams are kept alive and
// reused as a browser reuses its connections, at most MAX_STREAMS at once, and dropped after
// IDLE_MS idle. Only request heads are parsed; bodies and responses pass as bytes, SSE and
// WebSockets unchanged; a stream cut in the tunnel cuts its local response or WebSocket.

import { EventEmitter } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import type { Duplex } from 'node:stream'
import { ConnectionPool, relayHttp, type Refusal, type RequestHead } from '@2020117/http1'
import { CliError, peerText, type Logger } from '@2020117/cli'

export interface LocalGatewayOptions {
  /** Where the local listener is bound: its address and port make the allowed Host and Origin. */
  address: net.AddressInfo
  /** Turns the Host and Origin checks off (--allow-foreign-origin). */
  allowForeignOrigin: boolean
  log: Logger
  /**
   * A new tunnel stream, or null while the provider would not carry one: not yet paid, past the paid
   * time and grace until the next receipt, or reconnecting.
   */
  openStream: () => Duplex | null
  /** The session: 'open' when the tunnel (re)opens, 'receipt' at each tick receipt, 'end' when it is over. */
  session: EventEmitter
}

/** Requests that may wait for the tunnel to (re)open, like the connections held before it opens. */
const MAX_WAITING = 64
/**
 * How long a request waits for the tunnel (a receipt, a reconnection) before it fails with
 * TUNNEL_UNAVAILABLE: a provider that stops billing must not leave the browser hanging.
 */
const MAX_WAIT_MS = 30_000
/**
 * A pooled tunnel stream is dropped after this long idle: well before the provider's side drops it
 * (its keep-alive timeout is 65 s), so that a stream is never reused just as the far end closes it.
 */
const IDLE_MS = 30_000
/** Tunnel streams at once; more requests wait for one (the provider allows 256 per session). */
const MAX_STREAMS = 128
/** How long a browser may take to send a request head, or keep a connection idle. */
const HEAD_TIMEOUT_MS = 65_000

export class LocalGateway {
  private readonly opts: LocalGatewayOptions
  private readonly hosts: Set<string>
  private readonly origins: Set<string>
  private readonly pool: ConnectionPool
  private readonly sockets = new Set<Duplex>()
  private readonly warned = new Set<string>()
  /** Requests waiting for the tunnel to (re)open. */
  private readonly waiting: Array<(err: Error | null) => void> = []
  private closed = false

  constructor(opts: LocalGatewayOptions) {
    this.opts = opts
    this.hosts = ownHosts(opts.address)
    this.origins = new Set([...this.hosts].map((h) => `http://${h}`))
    this.pool = new ConnectionPool({
      open: () => new Promise((resolve, reject) => this.stream((err, s) => (err ? reject(err) : resolve(s as Duplex)))),
      max: MAX_STREAMS,
      idleMs: IDLE_MS
    })
    const retryWaiting = () => {
      for (const retry of this.waiting.splice(0)) retry(null)
    }
    opts.session.on('open', retryWaiting)
    opts.session.on('receipt', retryWaiting)
    opts.session.once('end', () => this.close())
  }

  /** Serves a local connection (from the session's listener). */
  accept(sock: net.Socket): void {
    if (this.closed) return void sock.destroy()
    sock.setNoDelay(true)
    this.sockets.add(sock)
    sock.once('close', () => this.sockets.delete(sock))
    void relayHttp(sock, {
      police: (req) => this.check(req),
      answer,
      unavailable: (err) => {
        const why = err instanceof CliError ? err : CliError.TUNNEL_UNAVAILABLE(err.message)
        return { status: 502, code: why.code, message: why.message }
      },
      pool: this.pool,
      headTimeoutMs: HEAD_TIMEOUT_MS,
      onFailure: (err) => this.opts.log.debug('local request failed in the tunnel', { error: err.message })
    })
  }

  /** The session is over: every local connection and every request still waiting ends. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    for (const fail of this.waiting.splice(0)) fail(CliError.TUNNEL_UNAVAILABLE('the session has ended'))
    this.pool.destroy()
  }

  /** @internal A tunnel stream now, or once the tunnel (re)opens. */
  stream(cb: (err: Error | null, stream?: Duplex) => void, since = Date.now()): void {
    if (this.closed) return cb(CliError.TUNNEL_UNAVAILABLE('the session has ended'))
    let stream: Duplex | null
    try {
      stream = this.opts.openStream()
    } catch (err) {
      return cb(err as Error)
    }
    if (stream) return cb(null, stream)
    if (this.waiting.length >= MAX_WAITING) {
      return cb(CliError.TUNNEL_UNAVAILABLE('too many requests are waiting for the tunnel to open'))
    }
    const waited = Date.now() - since
    if (waited >= MAX_WAIT_MS) {
      return cb(
        CliError.TUNNEL_UNAVAILABLE(`the provider did not confirm the next payment within ${MAX_WAIT_MS / 1000} s`)
      )
    }
    const retry = (err: Error | null) => {
      clearTimeout(timer)
      if (err) cb(err)
      else this.stream(cb, since)
    }
    const timer = setTimeout(() => {
      const at = this.waiting.indexOf(retry)
      if (at !== -1) this.waiting.splice(at, 1)
      this.stream(cb, since)
    }, MAX_WAIT_MS - waited)
    this.waiting.push(retry)
  }

  /** Null when the request is this listener's own; otherwise why not (a 403). */
  private check(req: RequestHead): Refusal | null {
    if (this.opts.allowForeignOrigin) return null
    const header = (name: string) => req.headers.find(([n]) => n.toLowerCase() === name)?.[1]
    const host = (header('host') ?? '').toLowerCase()
    if (!this.hosts.has(host)) return this.refused(CliError.FOREIGN_HOST(peerText(host, 100), this.example))
    const origin = header('origin')
    if (origin !== undefined && !this.origins.has(origin.toLowerCase())) {
      return this.refused(CliError.FOREIGN_ORIGIN(peerText(origin, 100), this.example))
    }
    return null
  }

  private get example(): string {
    return `http://127.0.0.1:${this.opts.address.port}`
  }

  /** Logs a refusal: a warning the first time for each code, then at debug level. */
  private refused(err: CliError): Refusal {
    if (this.warned.has(err.code)) this.opts.log.debug(`local request refused: ${err.message}`)
    else {
      this.warned.add(err.code)
      this.opts.log.warn(`${err.code}: ${err.message}`)
    }
    return { status: 403, code: err.code, message: err.message }
  }
}

/** Host headers this listener answers to: its own address and, on loopback, localhost. */
export function ownHosts(address: net.AddressInfo): Set<string> {
  const port = address.port
  const addrs = new Set<string>([address.address])
  const wildcard = address.address === '0.0.0.0' || address.address === '::'
  if (wildcard) {
    for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) addrs.add(i.address)
  }
  const names = new Set<string>()
  for (const a of addrs) names.add(net.isIPv6(a) ? `[${a.toLowerCase()}]` : a)
  if (wildcard || isLoopback(address.address)) for (const n of ['127.0.0.1', 'localhost', '[::1]']) names.add(n)
  const hosts = new Set<string>()
  for (const n of names) {
    hosts.add(`${n}:${port}`)
    // A browser leaves the default port out of Host and Origin.
    if (port === 80) hosts.add(n)
  }
  return hosts
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.')
}

function answer(r: Refusal, keepAlive: boolean): Buffer {
  const text = JSON.stringify({ ok: false, error: { code: r.code, message: r.message } })
  const head = [
    `HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? ''}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(text)}`,
    'cache-control: no-store',
    `connection: ${keepAlive ? 'keep-alive' : 'close'}`
  ].join('\r\n')
  return Buffer.from(`${head}\r\n\r\n${text}`)
}
