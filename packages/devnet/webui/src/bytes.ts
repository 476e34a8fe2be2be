// The byte stream behind GET /download, specified so a test can recompute it without this module:
//
//   bytes(n, seed) = the first n bytes of the AES-256-CTR keystream with
//                    key = SHA-256("2020117-webui-download:" + seed) and an all-zero 16-byte IV
//                    (i.e. AES-256-CTR encryption of n zero bytes).
//
// AES-CTR runs at GB/s in OpenSSL, far above the >100 MB/s tunnel benchmarks, and every byte
// value occurs, so a tunnel that mangles any byte (text decoding, CRLF rewriting) is caught.

import { createCipheriv, createHash } from 'node:crypto'

/** Largest body GET /download will produce (4 GiB). */
export const MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3
export const DOWNLOAD_CHUNK_BYTES = 64 * 1024

const ZEROES = Buffer.alloc(DOWNLOAD_CHUNK_BYTES)

export function downloadKey(seed: number): Buffer {
  return createHash('sha256').update(`2020117-webui-download:${seed}`).digest()
}

/** The download stream for `n` bytes, in chunks of at most `chunkBytes`. */
export function* downloadChunks(n: number, seed = 0, chunkBytes = DOWNLOAD_CHUNK_BYTES): Generator<Buffer> {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`byte count must be a non-negative integer, got ${n}`)
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > DOWNLOAD_CHUNK_BYTES) {
    throw new RangeError(`chunk size must be 1..${DOWNLOAD_CHUNK_BYTES}, got ${chunkBytes}`)
  }
  const cipher = createCipheriv('aes-256-ctr', downloadKey(seed), Buffer.alloc(16))
  for (let left = n; left > 0; left -= chunkBytes) {
    yield cipher.update(ZEROES.subarray(0, Math.min(chunkBytes, left)))
  }
}

/** The whole download as one buffer: for tests and small sizes only. */
export function downloadBytes(n: number, seed = 0): Buffer {
  return Buffer.concat([...downloadChunks(n, seed)])
}

/** Hex SHA-256 of the download stream, computed without holding it in memory. */
export function downloadSha256(n: number, seed = 0): string {
  const hash = createHash('sha256')
  for (const chunk of downloadChunks(n, seed)) hash.update(chunk)
  return hash.digest('hex')
}
