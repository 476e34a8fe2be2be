// Small helpers over node:http shared by the route handlers.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { WebUIError } from './errors.js'
import { toInteger } from './params.js'

/** Largest JSON request body accepted (a prompt is text; images never travel upstream). */
export const MAX_JSON_BYTES = 1024 * 1024

// After a 413 the rest of the body is read and dropped, so the client still gets its answer and the
// keep-alive connection survives; a sender that keeps going this far past the limit is cut off.
const MAX_DISCARD_BYTES = 64 * MAX_JSON_BYTES

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers
  })
  res.end(text)
}

export function sendError(res: ServerResponse, err: WebUIError, headers: Record<string, string> = {}): void {
  sendJson(res, err.status, err.toJSON(), headers)
}

export async function readJsonBody(req: IncomingMessage, limit = MAX_JSON_BYTES): Promise<unknown> {
  const body = await readBody(req, limit)
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw WebUIError.BAD_JSON(err instanceof Error ? err.message : String(err))
  }
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = toInteger(req.headers['content-length'])
  if (declared !== null && declared > limit) {
    discardBody(req)
    return Promise.reject(WebUIError.BODY_TOO_LARGE(limit))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size <= limit) {
        chunks.push(chunk)
        return
      }
      cleanup()
      discardBody(req)
      reject(WebUIError.BODY_TOO_LARGE(limit))
    }
    const onEnd = (): void => {
      cleanup()
      resolve(Buffer.concat(chunks, size))
    }
    // 'close' before 'end' means the client hung up mid-body.
    const onClose = (): void => {
      cleanup()
      reject(WebUIError.CANCELLED('request (client disconnected)'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('close', onClose)
  })
}

function discardBody(req: IncomingMessage): void {
  let dropped = 0
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > MAX_DISCARD_BYTES) req.destroy()
  })
  req.resume()
}

/** An integer query parameter within [min, max]; `fallback` when absent. */
export function queryInt(url: URL, name: string, min: number, max: number, fallback: number): number {
  const raw = url.searchParams.get(name)
  if (raw === null || raw === '') return fallback
  const n = toInteger(raw)
  if (n === null) throw WebUIError.INVALID_PARAMETER(name, 'must be an integer')
  if (n < min || n > max) throw WebUIError.INVALID_PARAMETER(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

/** An AbortSignal that fires when the client disconnects before the response was finished. */
export function abortOnDisconnect(res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort()
  })
  return controller.signal
}

/** Waits for 'drain', or for the connection to close (then writing is pointless). */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
