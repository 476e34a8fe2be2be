// The HTTP server: routing, WebSocket upgrades, and a close() that leaves nothing open.
//
//   GET  /                      the page (page.ts)
//   GET  /healthz               {ok: true}
//   ANY  /debug/headers         {method, url, httpVersion, host, headers}: what arrived, so tunnel
//                               tests can see the Host/Origin rewriting; nothing here checks them
//   POST /sdapi/v1/txt2img      A1111 API (a1111.ts)
//   GET  /sdapi/v1/progress     A1111 API (a1111.ts)
//   WS   /queue/join            Gradio 3 queue (gradio.ts)
//   GET  /sse/progress          SSE progress (sse.ts)
//   POST /jobs/advance?id=...   lets a paced job take its next step -> {job_id, step, total}
//   POST /upload, GET /download bulk transfer (transfer.ts)
//   anything else               404 {error, code: NOT_FOUND, detail}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { progress, txt2img } from './a1111.js'
import type { AppContext, Handler } from './context.js'
import { asWebUIError, WebUIError } from './errors.js'
import { sendError, sendJson, MAX_JSON_BYTES } from './http.js'
import { JobRunner } from './jobs.js'
import { renderPage } from './page.js'
import { serveQueueSocket } from './gradio.js'
import { sseProgress } from './sse.js'
import { download, upload } from './transfer.js'

export interface WebUIOptions {
  /** Interface to bind; loopback unless told otherwise, since a tunnel is the way in. */
  host?: string
  /** Default 7860 (A1111's); 0 picks an ephemeral port. */
  port?: number
  /** Pause before each progress step, so a human can watch progress. Default 150 ms. */
  stepDelayMs?: number
  log?: (line: string) => void
}

export interface RunningWebUI {
  url: string
  host: string
  port: number
  /** Closes the server and every open connection, WebSocket and SSE stream; cancels running jobs. */
  close(): Promise<void>
}

export const DEFAULT_PORT = 7860
export const DEFAULT_STEP_DELAY_MS = 150
export const QUEUE_SOCKET_PATH = '/queue/join'

// Longer than any client's idle timeout (Node's agent: 5 s, browsers: ~60 s), so the client always
// closes an idle keep-alive connection first; otherwise a proxy can reuse a connection in the very
// moment the server closes it and get ECONNRESET.
const KEEP_ALIVE_TIMEOUT_MS = 65_000

type Method = 'GET' | 'POST'

const healthz: Handler = (_req, res) => sendJson(res, 200, { ok: true })

const debugHeaders: Handler = (req, res) =>
  sendJson(res, 200, {
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    host: req.headers.host ?? null,
    headers: req.headers
  })

const page: Handler = (_req, res) => {
  const html = renderPage()
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store'
  })
  res.end(html)
}

const advanceJob: Handler = (_req, res, url, ctx) => {
  const id = url.searchParams.get('id') ?? ''
  const job = ctx.jobs.get(id)
  if (!job) throw WebUIError.JOB_NOT_FOUND(id)
  job.advance()
  sendJson(res, 200, { job_id: job.id, step: job.step, total: job.total })
}

const upgradeOnly: Handler = (_req, _res, url) => {
  throw WebUIError.UPGRADE_REQUIRED(url.pathname)
}

const ROUTES: Record<string, Partial<Record<Method | '*', Handler>>> = {
  '/': { GET: page },
  '/healthz': { GET: healthz },
  '/debug/headers': { '*': debugHeaders },
  '/sdapi/v1/txt2img': { POST: txt2img },
  '/sdapi/v1/progress': { GET: progress },
  [QUEUE_SOCKET_PATH]: { GET: upgradeOnly },
  '/sse/progress': { GET: sseProgress },
  '/jobs/advance': { POST: advanceJob },
  '/upload': { POST: upload },
  '/download': { GET: download }
}

export async function startWebUI(opts: WebUIOptions = {}): Promise<RunningWebUI> {
  const stepDelayMs = opts.stepDelayMs ?? DEFAULT_STEP_DELAY_MS
  if (!Number.isFinite(stepDelayMs) || stepDelayMs < 0)
    throw new RangeError(`stepDelayMs must be >= 0, got ${stepDelayMs}`)
  const ctx: AppContext = { jobs: new JobRunner(stepDelayMs), log: opts.log ?? (() => {}) }

  const server = createServer((req, res) => void route(req, res, ctx))
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
  // Node's default 5-minute limit on receiving a whole request would cut off large uploads through
  // a slow tunnel; headersTimeout still guards against clients that never finish their headers.
  server.requestTimeout = 0

  // Upgraded sockets leave the HTTP server's bookkeeping, so close() tracks raw sockets itself.
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_JSON_BYTES })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // An upgraded socket is no longer the HTTP server's: its errors (a peer's reset) are ours.
    socket.on('error', () => socket.destroy())
    if (pathOf(req) !== QUEUE_SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveQueueSocket(ws, ctx))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? DEFAULT_PORT, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const host = address.address
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
  ctx.log(`demo WebUI listening on ${url}`)

  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()))
      ctx.jobs.cancelAll()
      for (const ws of wss.clients) ws.terminate()
      wss.close()
      for (const socket of sockets) socket.destroy()
    })
    return closing
  }
  return { url, host, port: address.port, close }
}

async function route(req: IncomingMessage, res: ServerResponse, ctx: AppContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://webui.invalid')
  res.once('finish', () => ctx.log(`${req.method} ${req.url} ${res.statusCode}`))
  try {
    const methods = ROUTES[url.pathname]
    if (!methods) throw WebUIError.NOT_FOUND(url.pathname)
    const handler = methods['*'] ?? methods[req.method as Method]
    if (!handler) {
      const allow = Object.keys(methods).join(', ')
      return sendError(res, WebUIError.METHOD_NOT_ALLOWED(req.method ?? '?', url.pathname), { allow })
    }
    await handler(req, res, url, ctx)
  } catch (err) {
    // The client hung up (an aborted upload, a closed SSE tab): nobody is left to tell.
    if (res.destroyed) return
    const error = asWebUIError(err)
    if (error.code === 'INTERNAL') ctx.log(`${req.method} ${req.url} failed: ${error.message}`)
    if (!res.headersSent) sendError(res, error)
    // Mid-stream there is no status left to send: cut the connection so the client sees a
    // failure instead of a short body that looks complete.
    else if (!res.writableEnded) res.destroy()
  }
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://webui.invalid').pathname
}
