// Bulk transfer endpoints, there to push a tunnel's throughput and flow control rather than to
// imitate anything in A1111:
//
//   POST /upload   any body, any content-type, any size (chunked or with Content-Length)
//     -> {bytes: N, sha256: "<hex>"}; the body is hashed as it arrives, never held in memory.
//   GET /download?bytes=N[&seed=S]   N in 0..4 GiB, S in 0..2^32-1 (default 0)
//     -> exactly N bytes of application/octet-stream with Content-Length; the bytes are specified
//        in bytes.ts so a test can recompute them. Writes honour backpressure (a slow reader, or a
//        tunnel with a full window, holds the producer instead of filling server memory).

import { createHash } from 'node:crypto'
import { downloadChunks, MAX_DOWNLOAD_BYTES } from './bytes.js'
import type { Handler } from './context.js'
import { WebUIError } from './errors.js'
import { drained, queryInt, sendJson } from './http.js'

export const upload: Handler = async (req, res) => {
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk)
    bytes += chunk.length
  }
  sendJson(res, 200, { bytes, sha256: hash.digest('hex') })
}

export const download: Handler = async (_req, res, url) => {
  if (!url.searchParams.get('bytes')) throw WebUIError.INVALID_PARAMETER('bytes', 'is required')
  const bytes = queryInt(url, 'bytes', 0, MAX_DOWNLOAD_BYTES, 0)
  const seed = queryInt(url, 'seed', 0, 0xffff_ffff, 0)
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': bytes,
    'cache-control': 'no-store'
  })
  let closed = false
  res.once('close', () => {
    closed = true
  })
  for (const chunk of downloadChunks(bytes, seed)) {
    if (closed) return
    if (!res.write(chunk)) await drained(res)
  }
  if (!closed) res.end()
}
