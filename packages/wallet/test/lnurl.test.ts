// LNURL-pay from a Lightning address, against a local LNURL server (plain http is allowed only on
// loopback and .onion hosts; this runs on loopback). Servers on other hosts are played by a stub of
// fetch, so that nothing leaves the machine and the test sees every request that would have.

import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { invoiceFromLightningAddress, lightningAddressUrl, WalletError } from '../src/index.js'
import { signInvoice, rawInvoice, words, type RawField } from '@2020117/testkit'

let server: http.Server
let address: string
let lie = 0 // msat to add to the invoice, to play a dishonest server

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('content-type', 'application/json')
    if (url.pathname === '/.well-known/lnurlp/alice') {
      const { port } = server.address() as { port: number }
      res.end(
        JSON.stringify({
          tag: 'payRequest',
          callback: `http://127.0.0.1:${port}/cb`,
          minSendable: 1,
          maxSendable: 1_000_000,
          metadata: '[]'
        })
      )
    } else if (url.pathname === '/cb') {
      res.end(
        JSON.stringify({
          pr: signInvoice({ amountMsat: Number(url.searchParams.get('amount')) + lie }).bolt11,
          routes: []
        })
      )
    } else res.writeHead(404).end('{}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  address = `alice@127.0.0.1:${(server.address() as { port: number }).port}`
})

afterAll(() => server.close())

test('a Lightning address gives an invoice for exactly the amount asked', async () => {
  lie = 0
  const { invoice, decoded } = await invoiceFromLightningAddress(address, 167, 'tick 0')
  expect(invoice).toMatch(/^lnbcrt/)
  expect(decoded.amountMsat).toBe('167')
})

test('an invoice for another amount than asked is refused', async () => {
  lie = 1000
  await expect(invoiceFromLightningAddress(address, 167, '')).rejects.toMatchObject({ code: 'LNURL_FAILED' })
})

test('amounts outside the range and malformed addresses are refused', async () => {
  lie = 0
  await expect(invoiceFromLightningAddress(address, 2_000_000, '')).rejects.toBeInstanceOf(WalletError)
  expect(() => lightningAddressUrl('not-an-address')).toThrow(WalletError)
  expect(lightningAddressUrl('bob@example.com').href).toBe('https://example.com/.well-known/lnurlp/bob')
})

describe('plain http only on loopback and .onion hosts', () => {
  afterEach(() => vi.restoreAllMocks())

  /** A stub fetch that plays an LNURL server at any host: the lnurlp endpoint names `callback`. */
  function stubServer(callback: string): string[] {
    const asked: string[] = []
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      const url = new URL(String(input))
      asked.push(url.href)
      const body = url.pathname.startsWith('/.well-known/lnurlp/')
        ? { tag: 'payRequest', callback, minSendable: 1, maxSendable: 1_000_000, metadata: '[]' }
        : { pr: signInvoice({ amountMsat: Number(url.searchParams.get('amount')) }).bolt11, routes: [] }
      return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
    })
    return asked
  }

  test('an http callback on a public host name is refused before it is requested', async () => {
    const asked = stubServer('http://pay.example.com/cb')
    const err = await invoiceFromLightningAddress('bob@example.com', 167, '').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WalletError)
    expect((err as WalletError).code).toBe('LNURL_INSECURE_URL')
    expect(asked).toEqual(['https://example.com/.well-known/lnurlp/bob'])
  })

  test.each([
    'http://10.0.0.1/cb',
    'http://[2001:db8::1]/cb',
    'http://localhost.example.com/cb',
    'http://127.0.0.1.nip.io/cb',
    'ftp://example.com/cb',
    'javascript:alert(1)'
  ])('a callback %s is refused without a request', async (callback) => {
    const asked = stubServer(callback)
    await expect(invoiceFromLightningAddress('bob@example.com', 167, '')).rejects.toMatchObject({
      code: 'LNURL_INSECURE_URL'
    })
    expect(asked).toHaveLength(1)
  })

  test.each([
    'https://pay.example.com/cb',
    'http://127.0.0.9:8080/cb',
    'http://[::1]:8080/cb',
    'http://localhost/cb',
    'http://pay2jxyz.onion/cb'
  ])('a callback %s is used', async (callback) => {
    const asked = stubServer(callback)
    const { decoded } = await invoiceFromLightningAddress('bob@example.com', 167, '')
    expect(decoded.amountMsat).toBe('167')
    expect(asked[1]).toMatch(new RegExp(`^${callback.replace(/[.[\]]/g, '\\$&')}\\?amount=167`))
  })

  test('an invoice whose `h` is not the hash of the metadata is refused (LUD-06)', async () => {
    const h = (text: string): RawField => [23, words.hex(createHash('sha256').update(text).digest('hex'))]
    const invoice = (text: string): string =>
      rawInvoice([[1, words.hex(randomBytes(32).toString('hex'))], h(text), [16, words.hex('11'.repeat(32))]], {
        hrp: 'lnbcrt1670p',
        timestamp: Math.floor(Date.now() / 1000)
      })
    for (const [committed, ok] of [
      ['[]', true],
      ['[["text/plain","something else"]]', false]
    ] as const) {
      vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) =>
        Response.json(
          String(input).includes('/.well-known/')
            ? {
                tag: 'payRequest',
                callback: 'https://example.com/cb',
                minSendable: 1,
                maxSendable: 1000,
                metadata: '[]'
              }
            : { pr: invoice(committed) }
        )
      )
      const got = invoiceFromLightningAddress('bob@example.com', 167, '')
      if (ok) await expect(got).resolves.toMatchObject({ decoded: { amountMsat: '167' } })
      else await expect(got).rejects.toMatchObject({ code: 'INVOICE_INVALID', reason: 'DESCRIPTION_HASH_MISMATCH' })
      vi.restoreAllMocks()
    }
  })

  test('the lnurlp endpoint is https, except for loopback and .onion domains', () => {
    expect(lightningAddressUrl('bob@example.com').protocol).toBe('https:')
    expect(lightningAddressUrl('bob@localhost.example.com').protocol).toBe('https:')
    expect(lightningAddressUrl('bob@127.0.0.1.example.com').protocol).toBe('https:')
    expect(lightningAddressUrl('bob@127.0.0.1:8080').href).toBe('http://127.0.0.1:8080/.well-known/lnurlp/bob')
    expect(lightningAddressUrl('bob@127.1.2.3').protocol).toBe('http:')
    expect(lightningAddressUrl('bob@localhost:3000').protocol).toBe('http:')
    expect(lightningAddressUrl('bob@[::1]:3000').href).toBe('http://[::1]:3000/.well-known/lnurlp/bob')
    expect(lightningAddressUrl('bob@pay2jxyz.onion').href).toBe('http://pay2jxyz.onion/.well-known/lnurlp/bob')
  })
})

describe('the answer is read with a 64 KiB cap', () => {
  let endless: http.Server
  let sent = 0
  let closed: Promise<void>

  beforeAll(async () => {
    endless = http.createServer((req, res) => {
      closed = new Promise((resolve) => res.on('close', () => resolve()))
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"tag":"payRequest","metadata":"')
      // Paced, so that a reader without a cap fills memory slowly until the 15 s timeout.
      const timer = setInterval(() => {
        res.write('x'.repeat(16 * 1024))
        sent += 16 * 1024
      }, 5)
      res.on('close', () => clearInterval(timer))
    })
    await new Promise<void>((r) => endless.listen(0, '127.0.0.1', r))
  })
  afterAll(() => endless.close())

  test('a server that streams an endless body is cut off at the cap', async () => {
    const port = (endless.address() as { port: number }).port
    const err = await invoiceFromLightningAddress(`alice@127.0.0.1:${port}`, 167, '').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'LNURL_FAILED' })
    expect((err as Error).message).toMatch(/larger than 64 KiB/)
    await closed // the connection is dropped, not left streaming
    expect(sent).toBeGreaterThan(0)
  })

  test('a declared Content-Length above the cap is refused before the body is read', async () => {
    const big = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) })
      res.write('{')
    })
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', r))
    try {
      const port = (big.address() as { port: number }).port
      await expect(invoiceFromLightningAddress(`alice@127.0.0.1:${port}`, 167, '')).rejects.toThrow(
        /larger than 64 KiB/
      )
    } finally {
      big.closeAllConnections()
      big.close()
    }
  })
})
