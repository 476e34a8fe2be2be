// The provider's side of the tunnel: every paid stream is parsed as HTTP/1.1 and forwarded to the
// one upstream the provider was configured with (SPEC §6.2). The customer chooses nothing about
// where bytes go: absolute-form targets and CONNECT are refused, Host and Origin are rewritten
// to the upstream's own (Gradio rejects foreign ones), and denied paths get 403.

import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'
import httpProxy from 'http-proxy'

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

export class Gateway {
  readonly stats: GatewayStats = { requests: 0, upgrades: 0, refused: 0, upstreamErrors: 0 }
  private readonly server: http.Server
  private readonly proxy: httpProxy
  private readonly upstreamOrigin: string
  private readonly denyPaths: string[]
  private readonly log: GatewayOptions['log']

  constructor(opts: GatewayOptions) {
    this.upstreamOrigin = opts.upstream.origin
    this.denyPaths = opts.denyPaths.map(normalizePath)
    this.log = opts.log
    const agentOpts = { keepAlive: true, maxSockets: 256 }
    this.proxy = httpProxy.createProxyServer({
      target: opts.upstream.origin,
      changeOrigin: true,
      ws: true,
      xfwd: false,
      agent: opts.upstream.protocol === 'https:' ? new https.Agent(agentOpts) : new http.Agent(agentOpts)
    })
    this.proxy.on('error', (err: Error, _req: IncomingMessage, target: ServerResponse | Duplex) => {
      this.stats.upstreamErrors++
      this.log('upstream error', { error: err.message })
      if ('writeHead' in target && typeof target.writeHead === 'function') {
        if (!target.headersSent) reply(target, 502, 'UPSTREAM_UNAVAILABLE', `the provider's service did not answer: ${err.message}`)
        else target.destroy()
      } else target.destroy()
    })

    // Long uploads through a slow tunnel must not be cut off by node's request timeout.
    this.server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, (req, res) => this.onrequest(req, res))
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onupgrade(req, socket, head))
    this.server.on('clientError', (_err: Error, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
      else socket.destroy()
    })
  }

  /** Serves one tunnel stream as an HTTP connection. */
  handle(stream: Duplex): void {
    stream.on('error', () => {})
    this.server.emit('connection', stream)
  }

  close(): void {
    this.server.closeAllConnections()
    this.proxy.close()
  }

  private refusal(req: IncomingMessage): [number, string, string] | null {
    if (req.method === 'CONNECT') return [405, 'METHOD_NOT_ALLOWED', 'CONNECT is not served: the tunnel reaches only the provider\'s service']
    const url = req.url ?? ''
    if (!url.startsWith('/') || url.startsWith('//')) return [400, 'BAD_REQUEST_TARGET', 'only origin-form request targets (/path?query) are served']
    let path: string
    try {
      path = normalizePath(url.split('?')[0] as string)
    } catch {
      return [400, 'BAD_REQUEST_TARGET', 'the path is not valid percent-encoding']
    }
    if (this.denyPaths.some((d) => path === d || path.startsWith(d.endsWith('/') ? d : d + '/'))) return [403, 'PATH_DENIED', 'the provider does not serve this path']
    return null
  }

  /**
   * Origin is rewritten on the incoming request, before it is proxied: http-proxy's proxyReq
   * event fires only once a socket is assigned, and a request that queued for one has sent its
   * headers by then (changing them throws, and would take the process down).
   */
  private rewrite(req: IncomingMessage): void {
    if (req.headers.origin !== undefined) req.headers.origin = this.upstreamOrigin
    delete req.headers['x-forwarded-for']
  }

  private onrequest(req: IncomingMessage, res: ServerResponse): void {
    const refused = this.refusal(req)
    if (refused) {
      this.stats.refused++
      reply(res, ...refused)
      return
    }
    this.stats.requests++
    this.rewrite(req)
    this.proxy.web(req, res)
  }

  private onupgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refused = this.refusal(req)
    if (refused) {
      this.stats.refused++
      socket.end(`HTTP/1.1 ${refused[0]} ${http.STATUS_CODES[refused[0]]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
      return
    }
    this.stats.upgrades++
    this.rewrite(req)
    this.proxy.ws(req, socket, head)
  }
}

/** Decodes percent-escapes and folds repeated slashes, so `/a%2Fb` and `//a/b` cannot dodge a deny rule. */
function normalizePath(path: string): string {
  const decoded = decodeURIComponent(path)
  return ('/' + decoded).replace(/\/{2,}/g, '/').replace(/\/\.(?=\/|$)/g, '')
}

function reply(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
}
