// A Blossom server for the local network: BUD-01 `GET`/`HEAD /<sha256>[.ext]`, BUD-02 `PUT /upload`
// and BUD-06 `HEAD /upload`, on 127.0.0.1. Anyone on the machine may read a blob by its hash; an upload needs a
// kind 24242 authorization (auth.ts) whose `x` tag is the body's sha256, and a body under the cap.
// blossom-server-sdk was not used: it is storage and metadata (better-sqlite3 11, a native build,
// and an S3 client), not the HTTP layer, which is what this file is.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { checkAuthorizedBlob, checkUploadAuth } from './auth.js'
import { BlossomServerError } from './errors.js'
import { BlobStore, type BlobMeta } from './store.js'

export interface BlossomServerOptions {
  /** Where blobs are kept, each named by its sha256. */
  dir: string
  /** Default 127.0.0.1: the server is for the local network only. */
  host?: string
  /** Default 0: an ephemeral port, read it back from `url` or `port`. */
  port?: number
  /** The largest blob accepted. Default 16 MiB. */
  maxUploadBytes?: number
}

export interface RunningBlossomServer {
  /** http://HOST:PORT, no trailing slash. */
  url: string
  host: string
  port: number
  /** Stops accepting, ends open connections, and releases the port. */
  close(): Promise<void>
}

export const DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024
const MAX_CONNECTIONS = 64
// What a refused request may still send before its connection is cut: reading it lets the refusal
// reach the client (closing on unread data resets the connection and can lose the response).
const MAX_DRAIN_BYTES = 1024 * 1024
const BLOB_PATH = /^\/([0-9a-f]{64})(?:\.[a-z0-9]{1,10})?$/
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/
const EXTENSIONS: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/webp': '.webp',
  'image/gif': '.gif',
  'text/plain': '.txt',
  'application/json': '.json',
  'video/mp4': '.mp4',
  'audio/mpeg': '.mp3'
}
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type, x-sha-256, x-content-type, x-content-length',
  'access-control-allow-methods': 'GET, HEAD, PUT'
}

export async function startBlossomServer(opts: BlossomServerOptions): Promise<RunningBlossomServer> {
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? 0
  const max = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw BlossomServerError.INVALID_OPTION('port', 'must be an integer from 0 to 65535')
  if (!Number.isSafeInteger(max) || max < 1)
    throw BlossomServerError.INVALID_OPTION('maxUploadBytes', 'must be a positive integer')
  const store = new BlobStore(opts.dir)
  await store.open()

  let origin = ''
  const http = createServer((req, res) => {
    void route(req, res, { store, max, origin: () => origin }).catch((err) => refuse(req, res, err))
  })
  http.maxConnections = MAX_CONNECTIONS
  await listen(http, host, port)
  const bound = http.address() as AddressInfo
  origin = `http://${bound.address}:${bound.port}`
  let closed: Promise<void> | null = null
  return {
    url: origin,
    host: bound.address,
    port: bound.port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        http.close(() => resolve())
        http.closeAllConnections()
      })
      return closed
    }
  }
}

interface Context {
  store: BlobStore
  max: number
  origin(): string
}

async function route(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!
  if (req.method === 'OPTIONS') return void res.writeHead(204, CORS).end()
  if (path === '/upload') {
    if (req.method === 'HEAD') return uploadCheck(req, res, ctx)
    if (req.method !== 'PUT') throw BlossomServerError.METHOD_NOT_ALLOWED(req.method ?? '?', path)
    return upload(req, res, ctx)
  }
  const blob = BLOB_PATH.exec(path)
  if (!blob) throw BlossomServerError.NOT_FOUND()
  if (req.method !== 'GET' && req.method !== 'HEAD')
    throw BlossomServerError.METHOD_NOT_ALLOWED(req.method ?? '?', path)
  const sha256 = blob[1]!
  const meta = await ctx.store.meta(sha256)
  if (!meta) throw BlossomServerError.NOT_FOUND()
  res.writeHead(200, { ...CORS, 'content-type': meta.type, 'content-length': String(meta.size) })
  if (req.method === 'HEAD') return void res.end()
  ctx.store
    .read(sha256)
    .on('error', () => res.destroy())
    .pipe(res)
}

async function upload(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  // Everything that needs no body is checked before a byte of it is stored.
  const auth = checkUploadAuth(req.headers.authorization)
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > ctx.max) throw BlossomServerError.TOO_LARGE(ctx.max)
  const received = await ctx.store.receive(req, ctx.max)
  try {
    checkAuthorizedBlob(auth, received.sha256)
  } catch (err) {
    await ctx.store.discard(received)
    throw err
  }
  const meta = await ctx.store.commit(received, mimeOf(req.headers['content-type']))
  res.writeHead(200, { ...CORS, 'content-type': 'application/json' })
  res.end(JSON.stringify(descriptor(ctx.origin(), received.sha256, meta)))
}

/** BUD-06: would this upload be accepted? The same checks, on the `X-Content-Length`/`X-SHA-256` it announces. */
function uploadCheck(req: IncomingMessage, res: ServerResponse, ctx: Context): void {
  const auth = checkUploadAuth(req.headers.authorization)
  if (Number(req.headers['x-content-length'] ?? 0) > ctx.max) throw BlossomServerError.TOO_LARGE(ctx.max)
  const sha256 = req.headers['x-sha-256']
  if (typeof sha256 === 'string') checkAuthorizedBlob(auth, sha256)
  res.writeHead(200, CORS).end()
}

/** The BUD-02 blob descriptor. */
function descriptor(origin: string, sha256: string, meta: BlobMeta) {
  const url = `${origin}/${sha256}${EXTENSIONS[meta.type] ?? ''}`
  return { url, sha256, size: meta.size, type: meta.type, uploaded: meta.uploaded }
}

function mimeOf(header: string | undefined): string {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase()
  return MIME.test(type) ? type : 'application/octet-stream'
}

function refuse(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  const error =
    err instanceof BlossomServerError ? err : new BlossomServerError('STORAGE_FAILED', 'internal error', { cause: err })
  if (!res.headersSent) {
    res.writeHead(error.status, {
      ...CORS,
      'content-type': 'application/json',
      'x-reason': error.message,
      connection: 'close'
    })
    res.end(JSON.stringify({ error: { code: error.code, message: error.message } }))
  } else res.destroy()
  let drained = 0
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length
    if (drained > MAX_DRAIN_BYTES) req.destroy()
  })
  req.resume()
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(BlossomServerError.LISTEN_FAILED(host, port, err)))
    server.listen(port, host, () => resolve())
  })
}
