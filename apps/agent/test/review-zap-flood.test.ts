// Hostile review of issue 13: the provider's own zap total (min_zap_sats) read its receipts as the
// newest MAX_SIGNAL_EVENTS kind 9735 naming it, whoever signed them. A stranger who published that
// many receipts signed by any key, all newer, pushed every real one out of the answer: the honest
// provider's total fell to 0 and it stopped answering min_zap_sats requests. Only the LNURL
// server's key can sign a receipt that counts, so only its receipts are asked for.

import { createHash, randomBytes } from 'node:crypto'
import type { Filter } from 'nostr-tools'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { expect, test } from 'vitest'
import type { Logger } from '@2020117/cli'
import { MAX_SIGNAL_EVENTS } from '@2020117/protocol'
import { rawInvoice, words } from '@2020117/testkit'
import { ZapTotal } from '../src/jobs/zap-total.js'

const silent = { debug() {}, info() {}, warn() {}, error() {}, trace() {} } as unknown as Logger
const provider = getPublicKey(generateSecretKey())
const server = generateSecretKey()
const T0 = Math.floor(Date.now() / 1000) - 3600
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

/** A receipt as the provider's LNURL server writes it, for a zap of `sats` by a fresh key. */
function receipt(sats: number): Event {
  const request = finalizeEvent(
    {
      kind: 9734,
      created_at: T0,
      content: '',
      tags: [
        ['p', provider],
        ['amount', String(sats * 1000)]
      ]
    },
    generateSecretKey()
  )
  const description = JSON.stringify(request)
  const bolt11 = rawInvoice(
    [
      [1, words.hex(randomBytes(32).toString('hex'))],
      [16, words.hex(randomBytes(32).toString('hex'))],
      [23, words.hex(sha256(description))],
      [6, words.int(600)]
    ],
    { hrp: `lnbcrt${sats * 10_000}p`, timestamp: T0 }
  )
  const tags = [
    ['p', provider],
    ['bolt11', bolt11],
    ['description', description]
  ]
  return finalizeEvent({ kind: 9735, created_at: T0, content: '', tags }, server)
}

test('a flood of newer receipts signed by other keys does not push the real ones out of our zap total', async () => {
  const real = receipt(2100)
  // Not signed by the LNURL server: they can never count, but there are more of them, and newer.
  const flood = Array.from({ length: MAX_SIGNAL_EVENTS }, (_, i) => ({
    ...real,
    id: i.toString(16).padStart(64, '0'),
    pubkey: getPublicKey(generateSecretKey()).replace(/^./, 'f'),
    created_at: T0 + 1 + i
  }))
  // A relay that honours `authors` and `limit`, newest first.
  const pool = {
    query: async (f: Filter) =>
      [real, ...flood]
        .filter((e) => !f.authors || f.authors.includes(e.pubkey))
        .sort((a, b) => b.created_at - a.created_at)
        .slice(0, f.limit)
  }
  const fetch = (async () =>
    new Response(JSON.stringify({ allowsNostr: true, nostrPubkey: getPublicKey(server) }))) as typeof globalThis.fetch
  const total = new ZapTotal({
    pool,
    recipient: provider,
    zapAddress: 'me@127.0.0.1:1',
    network: 'regtest',
    log: silent,
    fetch
  })
  expect(await total.sats()).toBe(2100)
})
