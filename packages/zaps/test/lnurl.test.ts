// The LNURL-pay endpoint as a hostile or careless server could answer it, on a small http server on
// 127.0.0.1: only `allowsNostr: true` with a 64-hex `nostrPubkey` is believed, and no answer is read
// past 64 KiB.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { LnurlPubkeyCache, lnurlNostrPubkey, type ZapErrorCode } from '@2020117/zaps'

const KEY = '7e'.repeat(32)
const PAY = {
  tag: 'payRequest',
  callback: 'http://127.0.0.1:1/cb',
  minSendable: 1000,
  maxSendable: 1e9,
  metadata: '[]'
}
const ANSWERS: Record<string, () => unknown> = {
  alice: () => ({ ...PAY, allowsNostr: true, nostrPubkey: KEY }),
  nozaps: () => ({ ...PAY, allowsNostr: false, nostrPubkey: KEY }),
  truthy: () => ({ ...PAY, allowsNostr: 'true', nostrPubkey: KEY }),
  badkey: () => ({ ...PAY, allowsNostr: true, nostrPubkey: 'npub1notahexkey' }),
  upper: () => ({ ...PAY, allowsNostr: true, nostrPubkey: KEY.toUpperCase() }),
  list: () => [KEY]
}

let server: Server
let host: string
const hits: Record<string, number> = {}

beforeAll(async () => {
  server = createServer((req, res) => {
    const name = /^\/\.well-known\/lnurlp\/([a-z]+)$/.exec(req.url ?? '')?.[1] ?? ''
    hits[name] = (hits[name] ?? 0) + 1
    if (name === 'huge') {
      // No content-length: the cap must hold while the body streams in.
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(`{"allowsNostr":true,"nostrPubkey":"${KEY}","pad":"`)
      for (let i = 0; i < 80; i++) res.write('x'.repeat(1024))
      res.end('"}')
      return
    }
    const answer = ANSWERS[name]
    if (!answer) return void res.writeHead(404).end('{}')
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const OPTS = { timeoutMs: 5000, allowHttpLoopback: true }

async function refusal(name: string, opts = OPTS): Promise<ZapErrorCode | string> {
  try {
    return await lnurlNostrPubkey(`${name}@${host}`, opts)
  } catch (err) {
    return (err as { code: ZapErrorCode }).code
  }
}

describe('lnurlNostrPubkey', () => {
  test('reads the nostrPubkey of an endpoint that allows zaps', async () => {
    expect(await lnurlNostrPubkey(`alice@${host}`, OPTS)).toBe(KEY)
  })

  test('refuses an endpoint whose allowsNostr is not true', async () => {
    expect(await refusal('nozaps')).toBe('LNURL_NOT_NOSTR')
    expect(await refusal('truthy')).toBe('LNURL_NOT_NOSTR')
  })

  test('refuses a nostrPubkey that is not 64 lowercase hex', async () => {
    expect(await refusal('badkey')).toBe('LNURL_NOT_NOSTR')
    expect(await refusal('upper')).toBe('LNURL_NOT_NOSTR')
  })

  test('refuses an answer over 64 KiB, a JSON list and an HTTP error', async () => {
    expect(await refusal('huge')).toBe('LNURL_FAILED')
    expect(await refusal('list')).toBe('LNURL_FAILED')
    expect(await refusal('nobody')).toBe('LNURL_FAILED')
  })

  test('refuses plain http unless loopback http is allowed, and a malformed address', async () => {
    const before = hits.alice ?? 0
    expect(await refusal('alice', { timeoutMs: 5000, allowHttpLoopback: false })).toBe('LNURL_FAILED')
    expect(hits.alice ?? 0).toBe(before)
    // The bell and the spaces of a peer's lud16 never reach the message.
    await expect(lnurlNostrPubkey('not an address\u0007', OPTS)).rejects.toMatchObject({
      code: 'LNURL_FAILED',
      message: expect.stringContaining('of not?an?address?:')
    })
  })
})

describe('LnurlPubkeyCache', () => {
  test('asks the server once within the TTL, and again after it', async () => {
    let now = 1_000_000
    const cache = new LnurlPubkeyCache({ ttlMs: 60_000, now: () => now })
    const before = hits.alice ?? 0
    expect(await cache.get(`alice@${host}`, OPTS)).toBe(KEY)
    expect(await cache.get(`ALICE@${host}`, OPTS)).toBe(KEY)
    expect(hits.alice).toBe(before + 1)
    now += 60_000
    expect(await cache.get(`alice@${host}`, OPTS)).toBe(KEY)
    expect(hits.alice).toBe(before + 2)
  })

  test('two asks at once share one request', async () => {
    const cache = new LnurlPubkeyCache({ ttlMs: 60_000 })
    const before = hits.alice ?? 0
    expect(await Promise.all([cache.get(`alice@${host}`, OPTS), cache.get(`alice@${host}`, OPTS)])).toEqual([KEY, KEY])
    expect(hits.alice).toBe(before + 1)
  })

  test('does not keep a failure', async () => {
    const cache = new LnurlPubkeyCache({ ttlMs: 60_000 })
    const before = hits.nozaps ?? 0
    await expect(cache.get(`nozaps@${host}`, OPTS)).rejects.toMatchObject({ code: 'LNURL_NOT_NOSTR' })
    await expect(cache.get(`nozaps@${host}`, OPTS)).rejects.toMatchObject({ code: 'LNURL_NOT_NOSTR' })
    expect(hits.nozaps).toBe(before + 2)
  })
})
