// The customer's local HTTP front (SPEC §6.3). Every request on the local port, each one of a
// keep-alive connection and every WebSocket upgrade, is checked here before anything enters the
// tunnel: its Host must be this listener's own address (127.0.0.1:PORT, localhost:PORT,
// [::1]:PORT, or the address it is bound to), and its Origin, when there is one, this listener's own
// origin. The agent rewrites Host and Origin for its upstream (§6.2), so without this check any web
// page the customer visits could drive the paid session: a cross-site POST or WebSocket from
// https://evil.example, or a DNS-rebinding name that resolves to 127.0.0.1. A refusal is a 403 with
// a typed JSON error, and the connection stays usable.
//
// What passes is forwarded by http-proxy through an http.Agent whose connections are tunnel
// streams, kept alive and reused as a browser reuses its connections (the provider keeps its
// upstream connections pooled too), and dropped after IDLE_MS idle. Bodies stream both ways,
// nothing is buffered, SSE and WebSockets pass unchanged; a stream cut in the tunnel cuts its
// local response or WebSocket.

import { EventEmitter } from 'node:events'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import net from 'node:net'
import os from 'node:os'
import type { Duplex } from 'node:stream'
import httpProxy from 'http-proxy'
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

export class LocalGateway {
  private readonly server: http.Server
  private readonly proxy: httpProxy
  private readonly opts: LocalGatewayOptions
  private readonly hosts: Set<string>
  private readonly origins: Set<string>
  private readonly sockets = new Set<Duplex>()
  private readonly warned = new Set<string>()
  /** Requests waiting for the tunnel to (re)open. */
  private readonly waiting: Array<(err: Error | null) => void> = []
  private closed = false

  constructor(opts: LocalGatewayOptions) {
    this.opts = opts
    this.hosts = ownHosts(opts.address)
    this.origins = new Set([...this.hosts].map((h) => `http://${h}`))
    this.proxy = httpProxy.createProxyServer({
      // The target only names the agent's pool: every connection is a tunnel stream.
      target: 'http://tunnel.invalid',
      ws: true,
      xfwd: false,
      changeOrigin: false,
      toProxy: true,
      prependPath: false,
      agent: new TunnelAgent(this)
    })
    // The request target goes into the tunnel exactly as the browser sent it: http-proxy would run it
    // through url.parse and its urlJoin (folding "//", rewriting "\\"), and the provider checks the
    // target it receives (SPEC §6.2), so no spelling is changed on the way.
    const exact = (proxyReq: http.ClientRequest, req: IncomingMessage) => {
      if (req.url) proxyReq.path = req.url
    }
    this.proxy.on('proxyReq', exact)
    this.proxy.on('proxyReqWs', exact)
    this.proxy.on('proxyRes', (proxyRes: IncomingMessage, _req: IncomingMessage, res: ServerResponse) => {
      // The provider's "connection: close" is about its tunnel stream, not the local connection.
      delete proxyRes.headers.connection
      delete proxyRes.headers['keep-alive']
      // A response cut in the tunnel (a reset, the session's end) is cut locally too, not left hanging.
      proxyRes.once('close', () => {
        if (!proxyRes.complete) res.destroy()
      })
    })
    // A WebSocket lives as long as its tunnel stream: when that closes, the local socket ends.
    this.proxy.on('proxyReqWs', (proxyReq: http.ClientRequest, _req: IncomingMessage, socket: Duplex) => {
      proxyReq.once('socket', (stream: Duplex) => stream.once('close', () => socket.end()))
    })
    this.proxy.on('error', (err: Error, _req: IncomingMessage, target: ServerResponse | Duplex) =>
      this.onproxyerror(err, target)
    )
    // A long upload through a slow tunnel must not be cut off by node's request timeout.
    this.server = http.createServer({ requestTimeout: 0 }, (req, res) => this.onrequest(req, res))
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onupgrade(req, socket, head))
    this.server.on('clientError', (_err: Error, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
      else socket.destroy()
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
    this.server.emit('connection', sock)
  }

  /** The session is over: every local connection and every request still waiting ends. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const s of this.sockets) s.destroy()
    this.sockets.clear()
    for (const fail of this.waiting.splice(0)) fail(CliError.TUNNEL_UNAVAILABLE('the session has ended'))
    this.proxy.close()
  }

  /** @internal For TunnelAgent: a tunnel stream now, or once the tunnel (re)opens. */
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

  private onrequest(req: IncomingMessage, res: ServerResponse): void {
    const refusal = this.check(req)
    if (refusal) return reply(res, 403, refusal)
    this.proxy.web(req, res)
  }

  private onupgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {})
    const refusal = this.check(req)
    if (refusal) return replyRaw(socket, 403, refusal)
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    this.proxy.ws(req, socket, head)
  }

  /** Null when the request is this listener's own; otherwise why not. */
  private check(req: IncomingMessage): CliError | null {
    if (this.opts.allowForeignOrigin) return null
    const host = (req.headers.host ?? '').toLowerCase()
    if (!this.hosts.has(host)) return this.refused(CliError.FOREIGN_HOST(peerText(host, 100), this.example))
    const origin = req.headers.origin
    if (origin !== undefined && !this.origins.has(origin.toLowerCase())) {
      return this.refused(CliError.FOREIGN_ORIGIN(peerText(origin, 100), this.example))
    }
    return null
  }

  private get example(): string {
    return `http://127.0.0.1:${this.opts.address.port}`
  }

  /** Logs a refusal: a warning the first time for each code, then at debug level. */
  private refused(err: CliError): CliError {
    if (this.warned.has(err.code)) this.opts.log.debug(`local request refused: ${err.message}`)
    else {
      this.warned.add(err.code)
      this.opts.log.warn(`${err.code}: ${err.message}`)
    }
    return err
  }

  private onproxyerror(err: Error, target: ServerResponse | Duplex): void {
    this.opts.log.debug('local request failed in the tunnel', { error: err.message })
    if (target instanceof http.ServerResponse) {
      const why = err instanceof CliError ? err : CliError.TUNNEL_UNAVAILABLE(err.message)
      if (!target.headersSent) reply(target, 502, why)
      else target.destroy()
    } else target.destroy()
  }
}

/**
 * A pooled tunnel stream is dropped after this long idle: well before the provider's side drops it
 * (its keep-alive timeout is 65 s), so that a stream is never reused just as the far end closes it.
 */
const IDLE_MS = 30_000
/** Tunnel streams at once; more requests queue in the agent (the provider allows 256 per session). */
const MAX_STREAMS = 128

/** An http.Agent whose connections are tunnel streams. */
class TunnelAgent extends http.Agent {
  private readonly gateway: LocalGateway
  private readonly idle = new WeakMap<Duplex, NodeJS.Timeout>()

  constructor(gateway: LocalGateway) {
    super({ keepAlive: true, maxSockets: MAX_STREAMS, maxFreeSockets: 32 })
    this.gateway = gateway
  }

  override createConnection(_opts: unknown, cb: (err: Error | null, stream?: Duplex) => void): undefined {
    this.gateway.stream(cb)
    return undefined
  }

  // The defaults call net.Socket's setKeepAlive/unref/ref, which a tunnel stream has no use for.
  override keepSocketAlive(stream: Duplex): boolean {
    const timer = setTimeout(() => stream.destroy(), IDLE_MS)
    timer.unref()
    this.idle.set(stream, timer)
    return true
  }

  override reuseSocket(stream: Duplex): void {
    clearTimeout(this.idle.get(stream))
    this.idle.delete(stream)
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

function body(err: CliError): string {
  return JSON.stringify({ ok: false, error: { code: err.code, message: err.message } })
}

function reply(res: ServerResponse, status: number, err: CliError): void {
  const text = body(err)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store'
  })
  res.end(text)
}

function replyRaw(socket: Duplex, status: number, err: CliError): void {
  const text = body(err)
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(text)}`,
    'connection: close'
  ].join('\r\n')
  if (socket.writable) socket.end(`${head}\r\n\r\n${text}`)
  else socket.destroy()
}
