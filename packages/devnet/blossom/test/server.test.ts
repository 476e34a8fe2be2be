// The local network's Blossom server, over real HTTP on 127.0.0.1: BUD-02 uploads with a kind 24242
// authorization, BUD-01 GET/HEAD by hash, and everything it must refuse (bad auth, a body whose hash
// is not the authorized one, a body over the cap, names that are not a hash). Blobs live on disk
// under their sha256 only.

import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:http'
import { afterEach, describe, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, type Event } from 'nostr-tools/pure'
import { createUploadAuth, encodeAuthorizationHeader } from 'blossom-client-sdk/auth'
import { uploadBlob } from 'blossom-client-sdk/actions/upload'
import { startBlossomServer, type BlossomServerOptions, type RunningBlossomServer } from '@2020117/blossom-server'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'blossom-server-test-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function server(opts: Partial<BlossomServerOptions> = {}): Promise<RunningBlossomServer & { dir: string }> {
  const dir = opts.dir ?? (await tempDir())
  const running = await startBlossomServer({ ...opts, dir })
  cleanups.push(() => running.close())
  return Object.assign(running, { dir })
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')
const now = (): number => Math.floor(Date.now() / 1000)
const blob = (text: string): Uint8Array => new TextEncoder().encode(text)

function auth(sk: Uint8Array, tags: string[][], kind = 24242): string {
  const event = finalizeEvent({ kind, created_at: now(), content: 'Upload Blob', tags }, sk)
  return 'Nostr ' + Buffer.from(JSON.stringify(event)).toString('base64')
}

const uploadTags = (hash: string): string[][] => [
  ['t', 'upload'],
  ['x', hash],
  ['expiration', String(now() + 60)]
]

function put(url: string, body: Uint8Array, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/upload`, { method: 'PUT', body, headers })
}

/** Only the hash-named blobs (and their metadata) are on disk, and no upload left a temporary file. */
async function filesOnDisk(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort()
}

describe('@2020117/blossom-server', () => {
  test('binds 127.0.0.1, takes an authorized upload and serves it by hash with GET and HEAD', async () => {
    const s = await server()
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const bytes = blob('an image, honestly')
    const hash = sha256(bytes)
    const res = await put(s.url, bytes, {
      authorization: auth(generateSecretKey(), uploadTags(hash)),
      'content-type': 'image/png'
    })
    expect(res.status).toBe(200)
    const descriptor = (await res.json()) as Record<string, unknown>
    expect(descriptor).toEqual({
      url: `${s.url}/${hash}.png`,
      sha256: hash,
      size: bytes.length,
      type: 'image/png',
      uploaded: expect.any(Number)
    })

    const got = await fetch(descriptor.url as string)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toBe('image/png')
    expect(got.headers.get('access-control-allow-origin')).toBe('*')
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes)
    const bare = await fetch(`${s.url}/${hash}`)
    expect(new Uint8Array(await bare.arrayBuffer())).toEqual(bytes)
    const head = await fetch(`${s.url}/${hash}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(bytes.length))
    expect(await filesOnDisk(join(s.dir))).toEqual([hash, `${hash}.json`])
  })

  test('keeps blobs across a restart on the same dir', async () => {
    const dir = await tempDir()
    const first = await startBlossomServer({ dir })
    const bytes = blob('durable')
    await put(first.url, bytes, { authorization: auth(generateSecretKey(), uploadTags(sha256(bytes))) })
    await first.close()
    const second = await server({ dir })
    const got = await fetch(`${second.url}/${sha256(bytes)}`)
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes)
    expect(got.headers.get('content-type')).toBe('application/octet-stream')
  })

  test('refuses uploads without a valid kind 24242 upload authorization, and stores nothing', async () => {
    const s = await server()
    const sk = generateSecretKey()
    const bytes = blob('refused')
    const hash = sha256(bytes)
    const signed = JSON.parse(Buffer.from(auth(sk, uploadTags(hash)).slice(6), 'base64').toString()) as Event
    const forged = { ...signed, content: 'changed after signing' }
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['no header', {}, /authorization/i],
      ['not Nostr', { authorization: 'Bearer abc' }, /Nostr/],
      ['not base64 JSON', { authorization: 'Nostr %%%' }, /event/i],
      ['bad signature', { authorization: 'Nostr ' + Buffer.from(JSON.stringify(forged)).toString('base64') }, /sign/],
      ['wrong kind', { authorization: auth(sk, uploadTags(hash), 1) }, /24242/],
      ['t is not upload', { authorization: auth(sk, [['t', 'get'], ...uploadTags(hash).slice(1)]) }, /upload/],
      [
        'expired',
        { authorization: auth(sk, [...uploadTags(hash).slice(0, 2), ['expiration', String(now() - 1)]]) },
        /expir/
      ],
      ['no expiration', { authorization: auth(sk, uploadTags(hash).slice(0, 2)) }, /expir/],
      ['x of another blob', { authorization: auth(sk, uploadTags(sha256(blob('other')))) }, /sha256|x tag/],
      ['no x', { authorization: auth(sk, [uploadTags(hash)[0]!, uploadTags(hash)[2]!]) }, /sha256|x tag/]
    ]
    for (const [name, headers, reason] of cases) {
      const res = await put(s.url, bytes, headers)
      expect(res.status, name).toBe(401)
      expect(res.headers.get('x-reason'), name).toMatch(reason)
      expect(((await res.json()) as { error: { code: string } }).error.code, name).toMatch(/^AUTH_/)
    }
    expect((await fetch(`${s.url}/${hash}`)).status).toBe(404)
    expect(await filesOnDisk(s.dir)).toEqual([])
  })

  test('refuses a body over maxUploadBytes, declared or streamed, and stores nothing', async () => {
    const s = await server({ maxUploadBytes: 1024 })
    const sk = generateSecretKey()
    const big = new Uint8Array(2048).fill(7)
    const declared = await put(s.url, big, { authorization: auth(sk, uploadTags(sha256(big))) })
    expect(declared.status).toBe(413)
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('TOO_LARGE')

    // Chunked, so the server only learns the size while reading.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(`${s.url}/upload`, {
        method: 'PUT',
        headers: { authorization: auth(sk, uploadTags(sha256(big))), 'transfer-encoding': 'chunked' }
      })
      req.on('response', (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      for (let i = 0; i < 8; i++) req.write(big.subarray(i * 256, (i + 1) * 256))
      req.end()
    })
    expect(streamed).toBe(413)
    expect(await filesOnDisk(s.dir)).toEqual([])
    const fits = new Uint8Array(1024).fill(1)
    expect((await put(s.url, fits, { authorization: auth(sk, uploadTags(sha256(fits))) })).status).toBe(200)
  })

  test('answers 404 for anything that is not a stored hash, and never reads a peer-given path', async () => {
    const s = await server()
    for (const path of ['/' + 'a'.repeat(64), '/../../etc/passwd', '/%2e%2e%2fdevnet.json', '/' + 'A'.repeat(64), '/x'])
      expect((await fetch(s.url + path)).status, path).toBe(404)
    expect((await fetch(`${s.url}/upload`, { method: 'DELETE' })).status).toBe(405)
  })

  test("blossom-client-sdk's own uploadBlob works against it (HEAD /upload, 401, then PUT with auth)", async () => {
    const s = await server()
    const sk = generateSecretKey()
    const bytes = blob('interop')
    const signer = async (draft: Parameters<typeof finalizeEvent>[0]) => finalizeEvent(draft, sk)
    const descriptor = await uploadBlob(s.url, bytes as unknown as Blob, {
      onAuth: (_server, hash) => createUploadAuth(signer, hash)
    })
    expect(descriptor.sha256).toBe(sha256(bytes))
    expect(new Uint8Array(await (await fetch(descriptor.url)).arrayBuffer())).toEqual(bytes)
    // Its header is base64url without padding; that is accepted too.
    const again = blob('interop 2')
    const header = encodeAuthorizationHeader(await createUploadAuth(signer, sha256(again)))
    expect((await put(s.url, again, { authorization: header })).status).toBe(200)
  })
})
