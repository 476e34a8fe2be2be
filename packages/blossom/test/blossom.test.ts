// @2020117/blossom against the local network's Blossom server and against hostile servers on
// 127.0.0.1: an upload is verified against the descriptor the server returns, and a fetched blob
// is refused when its hash is wrong, when it is over the cap, when its URL is not http(s), and
// when redirects go too far or to another scheme.

import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, test } from 'vitest'
import { generateSecretKey } from 'nostr-tools/pure'
import { startBlossomServer, type RunningBlossomServer } from '@2020117/blossom-server'
import { BlossomError, fetchBlob, uploadBlob } from '@2020117/blossom'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

let dir: string
let blossom: RunningBlossomServer
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'blossom-client-test-'))
  blossom = await startBlossomServer({ dir, maxUploadBytes: 64 * 1024 })
  return async () => {
    await blossom.close()
    await rm(dir, { recursive: true, force: true })
  }
})

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const secretKey = generateSecretKey()
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4])

/** A server on 127.0.0.1 that answers every request with `handler`. */
async function hostile(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function refusal(promise: Promise<unknown>): Promise<BlossomError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(BlossomError)
  return err as BlossomError
}

describe('uploadBlob and fetchBlob against the devnet Blossom server', () => {
  test('uploads, gets a verified descriptor, and fetches the same bytes back', async () => {
    const descriptor = await uploadBlob(blossom.url, png, { secretKey, mime: 'image/png' })
    expect(descriptor).toMatchObject({ sha256: sha256(png), size: png.length, type: 'image/png' })
    expect(descriptor.url).toBe(`${blossom.url}/${sha256(png)}.png`)
    const bytes = await fetchBlob(descriptor.url, { sha256: descriptor.sha256, maxBytes: 1024, timeoutMs: 5000 })
    expect(bytes).toEqual(png)
  })

  test('an upload the server refuses is UPLOAD_REFUSED with its reason, stripped of control characters', async () => {
    const big = new Uint8Array(64 * 1024 + 1)
    const err = await refusal(uploadBlob(blossom.url, big, { secretKey, mime: 'application/octet-stream' }))
    expect(err.code).toBe('UPLOAD_REFUSED')
    expect(err.message).toMatch(/413.*limit/)

    const evil = await hostile((_req, res) => {
      res.writeHead(401, { 'x-reason': 'no\u009b2J way' }).end()
    })
    const stripped = await refusal(uploadBlob(evil, png, { secretKey, mime: 'image/png' }))
    expect(stripped.code).toBe('UPLOAD_REFUSED')
    expect(stripped.message).toMatch(/no2J way/)
  })

  test('a descriptor whose sha256 is not ours is HASH_MISMATCH, an unusable one BAD_DESCRIPTOR', async () => {
    const liar = await hostile((req, res) => {
      req.resume()
      req.on('end', () => {
        const other = 'ab'.repeat(32)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({ url: `http://127.0.0.1/${other}`, sha256: other, size: 8, type: 'image/png', uploaded: 1 })
        )
      })
    })
    expect((await refusal(uploadBlob(liar, png, { secretKey, mime: 'image/png' }))).code).toBe('HASH_MISMATCH')

    const huge = await hostile((req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(200).end('{"url":"' + 'x'.repeat(256 * 1024) + '"}'))
    })
    expect((await refusal(uploadBlob(huge, png, { secretKey, mime: 'image/png' }))).code).toBe('BAD_DESCRIPTOR')
    const schemeless = await hostile((req, res) => {
      req.resume()
      const hash = sha256(png)
      req.on('end', () =>
        res
          .writeHead(200)
          .end(JSON.stringify({ url: `file:///${hash}`, sha256: hash, size: 8, type: 'x/y', uploaded: 1 }))
      )
    })
    expect((await refusal(uploadBlob(schemeless, png, { secretKey, mime: 'image/png' }))).code).toBe('BAD_DESCRIPTOR')
  })
})

describe('fetchBlob refuses what it must', () => {
  test('a blob whose bytes do not hash to the expected sha256 is HASH_MISMATCH', async () => {
    const descriptor = await uploadBlob(blossom.url, png, { secretKey, mime: 'image/png' })
    const err = await refusal(fetchBlob(descriptor.url, { sha256: 'cd'.repeat(32), maxBytes: 1024, timeoutMs: 5000 }))
    expect(err.code).toBe('HASH_MISMATCH')
    const swapped = await hostile((_req, res) => res.writeHead(200).end('not the png'))
    const err2 = await refusal(
      fetchBlob(`${swapped}/${sha256(png)}`, { sha256: sha256(png), maxBytes: 1024, timeoutMs: 5000 })
    )
    expect(err2.code).toBe('HASH_MISMATCH')
  })

  test('a body over maxBytes is TOO_LARGE, whether declared or streamed', async () => {
    const declared = await hostile((_req, res) =>
      res.writeHead(200, { 'content-length': '4096' }).end(Buffer.alloc(4096))
    )
    const streamed = await hostile((_req, res) => {
      res.writeHead(200)
      // Chunked, no length: the cap has to hold while reading. It never ends on its own.
      const timer = setInterval(() => res.write(Buffer.alloc(1024)), 1)
      res.on('close', () => clearInterval(timer))
    })
    for (const url of [declared, streamed]) {
      const err = await refusal(fetchBlob(`${url}/x`, { sha256: 'ab'.repeat(32), maxBytes: 2048, timeoutMs: 10_000 }))
      expect(err.code, url).toBe('TOO_LARGE')
    }
  })

  test('refuses URLs that are not http(s) before any request', async () => {
    for (const url of ['file:///etc/passwd', 'data:text/plain,hi', 'ftp://127.0.0.1/x', 'not a url', 'javascript:1']) {
      const err = await refusal(fetchBlob(url, { sha256: 'ab'.repeat(32), maxBytes: 10, timeoutMs: 1000 }))
      expect(err.code, url).toBe('INVALID_URL')
    }
  })

  test('follows at most 3 redirects, and only to http(s)', async () => {
    const hash = sha256(png)
    let hops = 0
    const chain = await hostile((req, res) => {
      const n = Number(req.url?.slice(1) ?? 0)
      hops++
      if (n < 3) res.writeHead(302, { location: `/${n + 1}` }).end()
      else res.writeHead(200).end(png)
    })
    expect(await fetchBlob(`${chain}/0`, { sha256: hash, maxBytes: 1024, timeoutMs: 5000 })).toEqual(png)
    expect(hops).toBe(4)

    const loop = await hostile((_req, res) => res.writeHead(302, { location: '/again' }).end())
    expect((await refusal(fetchBlob(`${loop}/x`, { sha256: hash, maxBytes: 1024, timeoutMs: 5000 }))).code).toBe(
      'TOO_MANY_REDIRECTS'
    )
    const toFile = await hostile((_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end())
    expect((await refusal(fetchBlob(`${toFile}/x`, { sha256: hash, maxBytes: 1024, timeoutMs: 5000 }))).code).toBe(
      'INVALID_URL'
    )
  })

  test('a 404 is FETCH_FAILED and a server that never answers is TIMEOUT', async () => {
    const missing = await refusal(
      fetchBlob(`${blossom.url}/${'ef'.repeat(32)}`, { sha256: 'ef'.repeat(32), maxBytes: 10, timeoutMs: 5000 })
    )
    expect(missing.code).toBe('FETCH_FAILED')
    const silent = await hostile(() => undefined)
    const err = await refusal(fetchBlob(`${silent}/x`, { sha256: 'ab'.repeat(32), maxBytes: 10, timeoutMs: 200 }))
    expect(err.code).toBe('TIMEOUT')
  })
})
