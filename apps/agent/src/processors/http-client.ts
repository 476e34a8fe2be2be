// The one way a processor talks to its upstream: a single request to the configured origin, no
// connection pool, no redirect followed (a 3xx is an answer like any other), and the response
// body read as a stream that is cut off at a byte cap.

import http from 'node:http'
import https from 'node:https'
import { peerText } from '@2020117/cli'
import { ProcessorError } from './errors.js'

export interface UpstreamRequest {
  method: 'GET' | 'POST'
  path: string
  /** Sent as JSON. */
  body?: unknown
  signal: AbortSignal
  maxBytes: number
}

export interface UpstreamResponse {
  status: number
  body: Buffer
}

/** Over the cap: the request is destroyed and this is thrown, for the caller to name. */
export class BodyTooLarge extends Error {}

/** The longest upstream text quoted in an error. */
export const UPSTREAM_TEXT_MAX = 300

export function requestUpstream(origin: URL, req: UpstreamRequest): Promise<UpstreamResponse> {
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body))
  const client = origin.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const outgoing = client.request({
      // The path is always ours, never a peer's: only the origin is contacted.
      host: origin.hostname.replace(/^\[|\]$/g, ''),
      port: origin.port === '' ? undefined : Number(origin.port),
      method: req.method,
      path: req.path,
      agent: false,
      signal: req.signal,
      headers: headersFor(payload)
    })
    outgoing.on('error', reject)
    outgoing.on('response', (res) => {
      readCapped(res, req.maxBytes).then((body) => resolve({ status: res.statusCode ?? 0, body }), reject)
    })
    outgoing.end(payload)
  })
}

function headersFor(payload: Buffer | undefined): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = { accept: 'application/json' }
  if (payload === undefined) return headers
  return { ...headers, 'content-type': 'application/json', 'content-length': payload.length }
}

function readCapped(res: http.IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    res.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= max) return void chunks.push(chunk)
      res.destroy(new BodyTooLarge())
    })
    res.on('error', reject)
    res.on('end', () => resolve(Buffer.concat(chunks)))
    // Cut off (the upstream went away, or the request was aborted): no 'end' will come.
    res.on('close', () => {
      if (!res.complete) reject(new Error('the upstream closed the response early'))
    })
  })
}

/** A bounded, control-stripped quote of what an upstream said, for an error message. */
export function upstreamText(body: Buffer): string {
  return peerText(body.subarray(0, UPSTREAM_TEXT_MAX * 4).toString('utf8'), UPSTREAM_TEXT_MAX)
}

/** The JSON object of a 2xx answer, or UPSTREAM_ERROR saying what came instead. */
export function jsonObject(originText: string, res: UpstreamResponse): Record<string, unknown> {
  if (res.status >= 300 && res.status < 400) {
    throw ProcessorError.UPSTREAM_ERROR(originText, `it answered a redirect (${res.status}), which is not followed`)
  }
  if (res.status < 200 || res.status >= 300) {
    throw ProcessorError.UPSTREAM_ERROR(originText, `HTTP ${res.status}: ${upstreamText(res.body)}`)
  }
  let value: unknown
  try {
    value = JSON.parse(res.body.toString('utf8'))
  } catch {
    throw ProcessorError.UPSTREAM_ERROR(originText, `its answer is not JSON: ${upstreamText(res.body)}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw ProcessorError.UPSTREAM_ERROR(originText, 'its answer is not a JSON object')
  }
  return value as Record<string, unknown>
}
