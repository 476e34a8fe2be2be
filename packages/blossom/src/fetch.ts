// BUD-01 retrieval of a blob named in a job result: the bytes, or a typed refusal. The URL comes
// from a peer, so: http(s) only (every hop), at most MAX_REDIRECTS redirects followed by hand,
// a byte cap while streaming, a deadline over the whole exchange, and the sha256 checked before
// a byte is returned.

import { createHash } from 'node:crypto'
import { BlossomError } from './errors.js'
import { failure, httpUrl, positiveInteger, readCapped, request } from './http.js'

export const MAX_REDIRECTS = 3

export interface FetchBlobOptions {
  /** The hash the bytes must have (lower-case hex), e.g. from the descriptor or the URL. */
  sha256: string
  /** The largest blob accepted. */
  maxBytes: number
  /** For the whole exchange, redirects and body included. */
  timeoutMs: number
}

export async function fetchBlob(url: string, opts: FetchBlobOptions): Promise<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(opts.sha256))
    throw BlossomError.INVALID_OPTION('sha256', 'must be 64 lower-case hex digits')
  const maxBytes = positiveInteger('maxBytes', opts.maxBytes)
  const timeoutMs = positiveInteger('timeoutMs', opts.timeoutMs)
  let target = httpUrl(url)
  const signal = AbortSignal.timeout(timeoutMs)
  for (let hop = 0; ; hop++) {
    const res = await request(target, { redirect: 'manual' }, signal, timeoutMs)
    const location = res.headers.get('location')
    if (res.status >= 300 && res.status < 400 && location !== null) {
      await res.body?.cancel()
      if (hop === MAX_REDIRECTS) throw BlossomError.TOO_MANY_REDIRECTS(url, MAX_REDIRECTS)
      target = httpUrl(location, target.href)
      continue
    }
    if (!res.ok) {
      await res.body?.cancel()
      throw BlossomError.FETCH_FAILED(target.href, res.status)
    }
    const bytes = await readCapped(res, maxBytes, () => BlossomError.TOO_LARGE(target.href, maxBytes)).catch(
      (err: unknown) => {
        throw failure(target, err, signal, timeoutMs)
      }
    )
    const got = createHash('sha256').update(bytes).digest('hex')
    if (got !== opts.sha256) throw BlossomError.HASH_MISMATCH(target.href, opts.sha256, got)
    return bytes
  }
}
