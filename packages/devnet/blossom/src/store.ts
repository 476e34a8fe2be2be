// Blobs on disk: `DIR/<sha256>` and its metadata `DIR/<sha256>.json` ({ type, size, uploaded }).
// A file's name is always the hash this server computed, never anything a peer sent. An upload
// streams into a temporary file while it is hashed and counted; it becomes `<sha256>` by a rename
// once it is complete, under the cap and authorized, so a reader never sees half a blob.

import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import { writeFileAtomic } from '@2020117/files'
import { BlossomServerError } from './errors.js'

export const SHA256_HEX = /^[0-9a-f]{64}$/
const TEMP_PREFIX = '.upload-'

export interface BlobMeta {
  type: string
  size: number
  /** Unix seconds. */
  uploaded: number
}

export interface Received {
  temp: string
  sha256: string
  size: number
}

export class BlobStore {
  constructor(readonly dir: string) {}

  /** Creates the directory and removes temporary files a crash mid-upload left behind. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    for (const name of await readdir(this.dir))
      if (name.startsWith(TEMP_PREFIX) || name.endsWith('.tmp')) await rm(join(this.dir, name), { force: true })
  }

  /** The blob's metadata, or null when there is no such blob. */
  async meta(sha256: string): Promise<BlobMeta | null> {
    if (!SHA256_HEX.test(sha256)) return null
    const size = await stat(join(this.dir, sha256)).then(
      (s) => s.size,
      () => null
    )
    if (size === null) return null
    const stored = await readFile(join(this.dir, `${sha256}.json`), 'utf8')
      .then((text) => JSON.parse(text) as Partial<BlobMeta>)
      .catch(() => ({}) as Partial<BlobMeta>)
    return {
      type: typeof stored.type === 'string' ? stored.type : 'application/octet-stream',
      size,
      uploaded: typeof stored.uploaded === 'number' ? stored.uploaded : 0
    }
  }

  read(sha256: string): ReadStream {
    return createReadStream(join(this.dir, sha256))
  }

  /** Streams a request body into a temporary file, refusing it once it passes `max` bytes. */
  async receive(body: IncomingMessage, max: number): Promise<Received> {
    const temp = join(this.dir, TEMP_PREFIX + randomBytes(8).toString('hex'))
    const hash = createHash('sha256')
    let size = 0
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length
        if (size > max) return done(BlossomServerError.TOO_LARGE(max))
        hash.update(chunk)
        done(null, chunk)
      }
    })
    try {
      await pipeline(body, meter, createWriteStream(temp, { mode: 0o600 }))
    } catch (err) {
      await rm(temp, { force: true })
      throw err instanceof BlossomServerError ? err : BlossomServerError.STORAGE_FAILED(temp, err)
    }
    return { temp, sha256: hash.digest('hex'), size }
  }

  async discard(received: Received): Promise<void> {
    await rm(received.temp, { force: true })
  }

  /** Makes a received body the blob `<sha256>`; a blob already there is kept with its metadata. */
  async commit(received: Received, type: string): Promise<BlobMeta> {
    const existing = await this.meta(received.sha256)
    if (existing) {
      await this.discard(received)
      return existing
    }
    const meta: BlobMeta = { type, size: received.size, uploaded: Math.floor(Date.now() / 1000) }
    const path = join(this.dir, received.sha256)
    try {
      await writeFileAtomic(`${path}.json`, JSON.stringify(meta) + '\n')
      await rename(received.temp, path)
    } catch (err) {
      await this.discard(received)
      throw BlossomServerError.STORAGE_FAILED(path, err)
    }
    return meta
  }
}
