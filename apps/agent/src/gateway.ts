// The provider's side of the tunnel: every paid stream is read as HTTP/1.1 and forwarded to the
// one upstream the provider was configured with (SPEC §6.2). The customer chooses nothing about
// where bytes go: absolute-form targets and CONNECT are refused, Host and Origin are rewritten
// to the upstream's own (Gradio rejects foreign ones), and denied paths get 403.
//
// Only request heads are parsed and rewritten; request bodies and whole responses pass as the
// bytes they are (@2020117/http1), and a request the gateway and the upstream could frame
// differently is refused there, never forwarded.
//
// Invariants:
// - The target the deny list is checked against is, byte for byte, the target the upstream gets:
//   each target is canonicalised once (canonicalTarget), and that is the target written.
// - Each session has its own pool of upstream connections (UPSTREAM_SOCKETS_PER_SESSION): a
//   session that holds many long requests queues behind itself, never in front of another
//   session. An upgraded connection (a WebSocket) is its own, outside the pool.

import http from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { CliError } from '@2020117/cli'
import { ConnectionPool, relayHttp, type Refusal, type RequestHead } from '@2020117/http1'
import type { GatewayErrorCode } from '@2020117/protocol'

/** Upstream connections one session may hold at once; its further requests wait for one of them. */
export const UPSTREAM_SOCKETS_PER_SESSION = 128
/** How long a stream may take to send a whole request head, or sit idle between requests. */
const HEAD_TIMEOUT_MS = 65_000
const CONNECT_TIMEOUT_MS = 10_000
/**
 * An idle upstream connection is closed after this, before the upstream closes it itself (Node's
 * servers after 5 s, uvicorn's after 5 s): a request is never sent on a connection just closing.
 */
const UPSTREAM_IDLE_MS = 4_000

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

interface GatewayRefusal extends Refusal {
  code: GatewayErrorCode
}

export class Gateway {
  readonly stats: GatewayStats = { requests: 0, upgrades: 0, refused: 0, upstreamErrors: 0 }
  private readonly upstream: URL
  private readonly denyPaths: string[]
  private readonly log: GatewayOptions['log']
  private readonly pools = new Map<string, ConnectionPool>()
  private readonly streams = new Set<Duplex>()

  constructor(opts: GatewayOptions) {
    this.upstream = opts.upstream
    this.denyPaths = opts.denyPaths.map(denyRule)
    this.log = opts.log
  }

  /** Serves one tunnel stream of `session` as an HTTP connection. */
  handle(stream: Duplex, session: string): void {
    this.streams.add(stream)
    stream.once('close', () => this.streams.delete(stream))
    void relayHttp(stream, {
      police: (req) => this.admit(req),
      answer: errorResponse,
      unavailable: (err) =>
        refusal(502, 'UPSTREAM_UNAVAILABLE', `the provider's service did not answer: ${err.message}`),
      pool: this.pool(session),
      headTimeoutMs: HEAD_TIMEOUT_MS,
      onForward: (req) => (req.upgrade ? this.stats.upgrades++ : this.stats.requests++),
      onRefuse: () => this.stats.refused++,
      onFailure: (err) => {
        this.stats.upstreamErrors++
        this.log('upstream error', { error: err.message })
      }
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

  private pool(session: string): ConnectionPool {
    let pool = this.pools.get(session)
    if (!pool) {
      pool = new ConnectionPool({
        open: () => dial(this.upstream),
        max: UPSTREAM_SOCKETS_PER_SESSION,
        idleMs: UPSTREAM_IDLE_MS
      })
      this.pools.set(session, pool)
    }
    return pool
  }

  /** Refuses what may not be forwarded; otherwise sets the canonical target (the one checked) and rewrites the head. */
  private admit(req: RequestHead): GatewayRefusal | null {
    if (req.method === 'CONNECT')
      return refusal(405, 'METHOD_NOT_ALLOWED', "CONNECT is not served: the tunnel reaches only the provider's service")
    const canonical = canonicalTarget(req.target)
    if (typeof canonical === 'string') return refusal(400, 'BAD_REQUEST_TARGET', canonical)
    if (this.denied(canonical.path)) return refusal(403, 'PATH_DENIED', 'the provider does not serve this path')
    req.target = canonical.target
    this.rewrite(req)
    return null
  }

  private denied(path: string): boolean {
    const p = comparable(path)
    return this.denyPaths.some((d) => p === d || p.startsWith(d.endsWith('/') ? d : d + '/'))
  }

  /** Host and Origin become the upstream's own; X-Forwarded-For is dropped (it would be the customer's word). */
  private rewrite(req: RequestHead): void {
    const headers: Array<[string, string]> = []
    let host = false
    for (const [name, value] of req.headers) {
      const lower = name.toLowerCase()
      if (lower === 'x-forwarded-for') continue
      host ||= lower === 'host'
      headers.push([name, lower === 'host' ? this.upstream.host : lower === 'origin' ? this.upstream.origin : value])
    }
    if (!host) headers.unshift(['host', this.upstream.host])
    req.headers = headers
  }
}

function refusal(status: number, code: GatewayErrorCode, message: string): GatewayRefusal {
  return { status, code, message }
}

function errorResponse(r: Refusal, keepAlive: boolean): Buffer {
  const body = JSON.stringify({ error: { code: r.code, message: r.message } })
  return Buffer.from(
    `HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? ''}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n${body}`
  )
}

function dial(upstream: URL): Promise<Duplex> {
  const secure = upstream.protocol === 'https:'
  const port = Number(upstream.port) || (secure ? 443 : 80)
  const host = upstream.hostname.replace(/^\[|\]$/g, '')
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host })
      : net.connect({ host, port })
    // noDelay: a request head and its body must not wait for the upstream's delayed ACK.
    socket.setNoDelay(true)
    const timer = setTimeout(
      () => socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`)),
      CONNECT_TIMEOUT_MS
    )
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer)
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
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
