// The pieces of jobs-reputation.test.ts that a relay does not let an end-to-end test reach: a
// deletion seen before its report, reports by other keys, the cached zap total, min_zap_sats forms.

import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { expect, test } from 'vitest'
import type { Logger } from '@2020117/cli'
import { ReportedCustomers } from '../src/jobs/reported.js'
import { minZapSatsOf, ZapTotal } from '../src/jobs/zap-total.js'

const self = generateSecretKey()
const selfPub = getPublicKey(self)
const target = getPublicKey(generateSecretKey())
const silent = { debug() {}, info() {}, warn() {}, error() {}, trace() {} } as unknown as Logger

function signed(kind: number, tags: string[][], key = self): Event {
  return finalizeEvent({ kind, created_at: Math.floor(Date.now() / 1000), tags, content: '' }, key)
}

test('a report counts only when signed by our own key, and a deletion lifts it, even one seen first', () => {
  const reported = new ReportedCustomers(selfPub)
  reported.add(signed(1984, [['p', target, 'spam']], generateSecretKey()))
  expect(reported.has(target)).toBe(false)
  const report = signed(1984, [['p', target, 'other']])
  const deletion = signed(5, [['e', report.id]])
  reported.add(deletion)
  reported.add(report)
  expect(reported.has(target)).toBe(false)
  const again = signed(1984, [['p', target, 'spam', 'extra']])
  expect(reported.add(again)).toMatch(/not answering/)
  expect(reported.has(target)).toBe(true)
  // A stranger's deletion of our report changes nothing.
  reported.add(signed(5, [['e', again.id]], generateSecretKey()))
  expect(reported.has(target)).toBe(true)
  expect(reported.add(signed(5, [['e', again.id]]))).toMatch(/deleted: answering again/)
  expect(reported.has(target)).toBe(false)
})

test('min_zap_sats: a whole decimal number of sats, else invalid', () => {
  expect(minZapSatsOf({ params: {} })).toBeNull()
  expect(minZapSatsOf({ params: { min_zap_sats: '0' } })).toBe(0)
  expect(minZapSatsOf({ params: { min_zap_sats: '2100' } })).toBe(2100)
  // Up to all the bitcoin there will be, the most 2020117-job asks (MAX_MIN_ZAP_SATS).
  expect(minZapSatsOf({ params: { min_zap_sats: '2100000000000000' } })).toBe(2_100_000_000_000_000)
  for (const bad of ['', '-1', '1.5', '1e3', '01', ' 1', '0x10', '2100000000000001', '9'.repeat(16)])
    expect(minZapSatsOf({ params: { min_zap_sats: bad } })).toBe('invalid')
})

test('the zap total is read once per TTL however many ask, and a zap address is required', async () => {
  let queries = 0
  let clock = 0
  const pool = { query: async () => (queries++, []) }
  const fetch = (async () =>
    new Response(JSON.stringify({ allowsNostr: true, nostrPubkey: 'ab'.repeat(32) }))) as typeof globalThis.fetch
  const opts = { pool, recipient: selfPub, network: 'regtest' as const, log: silent, now: () => clock, fetch }
  const total = new ZapTotal({ ...opts, zapAddress: 'me@127.0.0.1:1' })
  expect(await Promise.all([total.sats(), total.sats(), total.sats()])).toEqual([0, 0, 0])
  expect(queries).toBe(1)
  clock += 59_999
  await total.sats()
  expect(queries).toBe(1)
  clock += 1
  await total.sats()
  expect(queries).toBe(2)
  expect(await new ZapTotal({ ...opts, zapAddress: null }).sats()).toBe(0)
  expect(queries).toBe(2)
})
