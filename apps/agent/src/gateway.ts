// The provider's side of the tunnel: every paid stream is parsed as HTTP/1.1 and forwarded to the
// one upstream the provider was configured with (SPEC §6.2). The customer chooses nothing about
// where bytes go: absolute-form targets and CONNECT are refused, Host and Origin are rewritten
// to the upstream's own (Gradio rejects foreign ones), and denied paths get 403.
//
// Invariants:
// - The target the deny list is checked against is, byte for byte, the target the upstream gets:
//   each target is canonicalised once (canonicalTarget), req.url is set to the result, and
//   http-proxy is told to forward req.url as it is (toProxy, no prependPath, and a target that its
//   urlJoin would still change is refused).
// - Each session has its own pool of upstream sockets (UPSTREAM_SOCKETS_PER_SESSION): a session
//   that holds many long requests queues behind itself, never in front of another session.

import { createRequire } from 'node:module'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'
import httpProxy from 'http-proxy'
import { CliError } from '@2020117/cli'

/** Upstream sockets one session may hold at once; its further requests wait for one of them. */
export const UPSTREAM_SOCKETS_PER_SESSION = 128

// The very function http-proxy builds the outgoing path with: it folds `//` and turns `http:/`
// into `http://`. A canonical target it would still change is refused rather than forwarded changed.
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

type Refusal = [status: number, code: string, message: string]

export class Gateway {
  readonly stats: GatewayStats = { requests: 0, upgrades: 0, refused: 0, upstreamErrors: 0 }
  private readonly server: http.Server
  private readonly proxy: httpProxy
  private readonly upstream: URL
  private readonly denyPaths: string[]
  private readonly log: GatewayOptions['log']
  /** Which session each tunnel stream belongs to, and each session's own socket pool. */
  private readonly sessionOf = new WeakMap<Duplex, string>()
  private readonly pools = new Map<string, http.Agent>()

  constructor(opts: GatewayOptions) {
    this.upstream = opts.upstream
    this.denyPaths = opts.denyPaths.map(denyRule)
    this.log = opts.log
    // toProxy: forward req.url untouched (no url.parse); the upstream is an origin without a path.
    this.proxy = httpProxy.createProxyServer({
      target: opts.upstream.origin,
      changeOrigin: true,
      ws: true,
      xfwd: false,
      toProxy: true,
      prependPath: false
    })
    this.proxy.on('error', (err: Error, _req: IncomingMessage, target: ServerResponse | Duplex) => {
      this.stats.upstreamErrors++
      this.log('upstream error', { error: err.message })
      if ('writeHead' in target && typeof target.writeHead === 'function') {
        if (!target.headersSent)
          reply(target, 502, 'UPSTREAM_UNAVAILABLE', `the provider's service did not answer: ${err.message}`)
        else target.destroy()
      } else target.destroy()
    })

    // Long uploads through a slow tunnel must not be cut off by node's request timeout.
    this.server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, (req, res) =>
      this.onrequest(req, res)
    )
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onupgrade(req, socket, head))
    this.server.on('clientError', (_err: Error, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
      else socket.destroy()
    })
  }

  /** Serves one tunnel stream of `session` as an HTTP connection. */
  handle(stream: Duplex, session: string): void {
    stream.on('error', () => {})
    this.sessionOf.set(stream, session)
    this.server.emit('connection', stream)
  }

  /** Drops the socket pool of a session that has ended. */
  release(session: string): void {
    this.pools.get(session)?.destroy()
    this.pools.delete(session)
  }

  close(): void {
    this.server.closeAllConnections()
    for (const pool of this.pools.values()) pool.destroy()
    this.pools.clear()
    this.proxy.close()
  }

  private pool(req: IncomingMessage): http.Agent {
    const session = this.sessionOf.get(req.socket) ?? ''
    let pool = this.pools.get(session)
    if (!pool) {
      // noDelay: a request head and its body must not wait for the upstream's delayed ACK.
      const opts = { keepAlive: true, noDelay: true, maxSockets: UPSTREAM_SOCKETS_PER_SESSION }
      pool = this.upstream.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts)
      this.pools.set(session, pool)
    }
    return pool
  }

  /** Refuses what may not be forwarded; otherwise sets req.url to the canonical target, the one checked. */
  private admit(req: IncomingMessage): Refusal | null {
    if (req.method === 'CONNECT')
      return [405, 'METHOD_NOT_ALLOWED', "CONNECT is not served: the tunnel reaches only the provider's service"]
    const canonical = canonicalTarget(req.url ?? '')
    if (typeof canonical === 'string') return [400, 'BAD_REQUEST_TARGET', canonical]
    if (this.denied(canonical.path)) return [403, 'PATH_DENIED', 'the provider does not serve this path']
    req.url = canonical.target
    return null
  }

  private denied(path: string): boolean {
    const p = comparable(path)
    return this.denyPaths.some((d) => p === d || p.startsWith(d.endsWith('/') ? d : d + '/'))
  }

  /**
   * Origin is rewritten on the incoming request, before it is proxied: http-proxy's proxyReq
   * event fires only once a socket is assigned, and a request that queued for one has sent its
   * headers by then (changing them throws, and would take the process down).
   */
  private rewrite(req: IncomingMessage): void {
    if (req.headers.origin !== undefined) req.headers.origin = this.upstream.origin
    delete req.headers['x-forwarded-for']
  }

  private onrequest(req: IncomingMessage, res: ServerResponse): void {
    const refused = this.admit(req)
    if (refused) {
      this.stats.refused++
      reply(res, ...refused)
      return
    }
    this.stats.requests++
    this.rewrite(req)
    this.proxy.web(req, res, { agent: this.pool(req) })
  }

  private onupgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refused = this.admit(req)
    if (refused) {
      this.stats.refused++
      socket.end(
        `HTTP/1.1 ${refused[0]} ${http.STATUS_CODES[refused[0]]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`
      )
      return
    }
    this.stats.upgrades++
    this.rewrite(req)
    this.proxy.ws(req, socket, head, { agent: this.pool(req) })
  }
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

function reply(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}
