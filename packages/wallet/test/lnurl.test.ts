// LNURL-pay from a Lightning address, against a local LNURL server (plain http is allowed only on
// loopback, which is where this runs).

import http from 'node:http'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { invoiceFromLightningAddress, lightningAddressUrl, WalletError } from '../src/index.js'
import { makeInvoice } from './invoices.js'

let server: http.Server
let address: string
let lie = 0 // msat to add to the invoice, to play a dishonest server

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    res.setHeader('content-type', 'application/json')
    if (url.pathname === '/.well-known/lnurlp/alice') {
      const { port } = server.address() as { port: number }
      res.end(JSON.stringify({ tag: 'payRequest', callback: `http://127.0.0.1:${port}/cb`, minSendable: 1, maxSendable: 1_000_000, metadata: '[]' }))
    } else if (url.pathname === '/cb') {
      res.end(JSON.stringify({ pr: makeInvoice({ amountMsat: Number(url.searchParams.get('amount')) + lie }).bolt11, routes: [] }))
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
