import { describe, expect, test } from 'vitest'
import type { Tick } from '@2020117/protocol'
import { TickGuard, WalletError, decodeInvoice, preimageMatches } from '../src/index.js'
import { makeInvoice, NODE_B } from './invoices.js'

const sessionId = new Uint8Array(16)
const T = 2
const AMOUNT = 167 // 5 sats/min for 2 s

function guard(now = { t: 0 }, budgetSats = 1) {
  return { now, g: new TickGuard({ satsPerMinute: 5, tickSeconds: T, budgetSats, network: 'regtest', startedAt: 0, now: () => now.t }) }
}

function tick(seq: number, bolt11: string, over: Partial<Tick> = {}): Tick {
  return { type: 'tick', sessionId, seq, amountMsat: AMOUNT, bolt11, periodStart: seq * T, periodEnd: (seq + 1) * T, ...over }
}

function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(WalletError)
    return (err as WalletError).code
  }
  throw new Error('the tick was approved')
}

describe('a tick is paid only when every check passes', () => {
  test('a good tick is approved, and the next one too', () => {
    const { now, g } = guard({ t: Date.now() })
    g['terms'].startedAt = now.t
    const a = g.check(tick(0, makeInvoice({ amountMsat: AMOUNT }).bolt11))
    expect(a.amountMsat).toBe(167)
    g.paid(a, 'p')
    now.t += T * 1000
    g.paid(g.check(tick(1, makeInvoice({ amountMsat: AMOUNT }).bolt11)), 'p')
    expect(g.spentMsat).toBe(334)
    expect(g.ticksPaid).toBe(2)
    expect(g.paidUntil).toBe(4)
  })

  const nowMs = Date.now()
  const cases: Array<[string, (g: TickGuard) => Tick, string]> = [
    ['an inflated invoice', () => tick(0, makeInvoice({ amountMsat: AMOUNT + 1 }).bolt11), 'INVOICE_AMOUNT_MISMATCH'],
    ['a tick amount that disagrees with the rule', () => tick(0, makeInvoice({ amountMsat: AMOUNT }).bolt11, { amountMsat: 166 }), 'INVOICE_AMOUNT_MISMATCH'],
    ['a zero-amount invoice', () => tick(0, makeInvoice({ amountMsat: 0 }).bolt11), 'INVOICE_AMOUNT_MISMATCH'],
    ['an invoice for another network', () => tick(0, makeInvoice({ amountMsat: AMOUNT, network: 'bitcoin' }).bolt11), 'INVOICE_NETWORK_MISMATCH'],
    ['an expired invoice', () => tick(0, makeInvoice({ amountMsat: AMOUNT, timestamp: Math.floor(nowMs / 1000) - 700, expiry: 600 }).bolt11), 'INVOICE_EXPIRED'],
    ['garbage', () => tick(0, 'lnbcrt1garbage'), 'INVOICE_INVALID'],
    ['a seq out of order', () => tick(1, makeInvoice({ amountMsat: AMOUNT }).bolt11), 'TICK_OUT_OF_ORDER'],
    ['a wrong period', () => tick(0, makeInvoice({ amountMsat: AMOUNT }).bolt11, { periodEnd: 3 }), 'TICK_OUT_OF_ORDER']
  ]
  test.each(cases)('refuses %s', (_name, make, code) => {
    const { g } = guard({ t: nowMs })
    g['terms'].startedAt = nowMs
    expect(refusal(() => g.check(make(g)))).toBe(code)
    expect(g.spentMsat).toBe(0)
  })

  test('refuses a repeated payment hash, even across sessions', () => {
    const seenHashes = new Set<string>()
    const now = { t: Date.now() }
    const terms = { satsPerMinute: 5, tickSeconds: T, budgetSats: 10, network: 'regtest' as const, startedAt: now.t, seenHashes, now: () => now.t }
    const inv = makeInvoice({ amountMsat: AMOUNT })
    const g1 = new TickGuard(terms)
    g1.paid(g1.check(tick(0, inv.bolt11)), 'p')
    now.t += T * 1000
    const sameHash = makeInvoice({ amountMsat: AMOUNT, preimage: inv.preimage }) // a new invoice for a paid hash
    expect(refusal(() => g1.check(tick(1, sameHash.bolt11)))).toBe('INVOICE_HASH_REUSED')
    const g2 = new TickGuard({ ...terms, startedAt: now.t })
    expect(refusal(() => g2.check(tick(0, inv.bolt11)))).toBe('INVOICE_HASH_REUSED')
    expect(g2.spentMsat).toBe(0)
  })

  test('refuses another payee after the first tick', () => {
    const now = { t: Date.now() }
    const g = new TickGuard({ satsPerMinute: 5, tickSeconds: T, budgetSats: 10, network: 'regtest', startedAt: now.t, now: () => now.t })
    g.paid(g.check(tick(0, makeInvoice({ amountMsat: AMOUNT }).bolt11)), 'p')
    now.t += T * 1000
    expect(refusal(() => g.check(tick(1, makeInvoice({ amountMsat: AMOUNT, key: NODE_B }).bolt11)))).toBe('INVOICE_PAYEE_CHANGED')
  })

  test('refuses a tick earlier than its period allows, but tolerates timer jitter', () => {
    const now = { t: 1_000_000 }
    const g = new TickGuard({ satsPerMinute: 5, tickSeconds: T, budgetSats: 10, network: 'regtest', startedAt: now.t, now: () => now.t })
    g.paid(g.check(tick(0, makeInvoice({ amountMsat: AMOUNT }).bolt11)), 'p')
    now.t += 1000 // tick 1 is due at +2000 ms; 200 ms of tolerance
    expect(refusal(() => g.check(tick(1, makeInvoice({ amountMsat: AMOUNT }).bolt11)))).toBe('TICK_TOO_EARLY')
    const g2 = new TickGuard({ satsPerMinute: 5, tickSeconds: T, budgetSats: 10, network: 'regtest', startedAt: 0, now: () => 1850 })
    g2.paid(g2.check(tick(0, makeInvoice({ amountMsat: AMOUNT }).bolt11)), 'p')
    expect(g2.check(tick(1, makeInvoice({ amountMsat: AMOUNT }).bolt11)).seq).toBe(1)
  })

  test('refuses to pass the budget, and says when it cannot afford the next tick', () => {
    const now = { t: Date.now() }
    const g = new TickGuard({ satsPerMinute: 60, tickSeconds: 1, budgetSats: 2, network: 'regtest', startedAt: now.t, now: () => now.t })
    g.paid(g.check({ ...tick(0, makeInvoice({ amountMsat: 1000 }).bolt11), amountMsat: 1000, periodEnd: 1 }), 'p')
    expect(g.canAffordNext()).toBe(true)
    now.t += 1000
    g.paid(g.check({ ...tick(1, makeInvoice({ amountMsat: 1000 }).bolt11), amountMsat: 1000, periodStart: 1, periodEnd: 2 }), 'p')
    expect(g.canAffordNext()).toBe(false)
    now.t += 1000
    expect(refusal(() => g.check({ ...tick(2, makeInvoice({ amountMsat: 1000 }).bolt11), amountMsat: 1000, periodStart: 2, periodEnd: 3 }))).toBe('BUDGET_EXHAUSTED')
    expect(g.spentMsat).toBe(2000)
  })
})

test('after a resume, a re-sent bill already paid is acknowledged with its preimage and never paid again', () => {
  const now = { t: Date.now() }
  const g = new TickGuard({ satsPerMinute: 5, tickSeconds: T, budgetSats: 10, network: 'regtest', startedAt: now.t, now: () => now.t })
  const inv = makeInvoice({ amountMsat: AMOUNT })
  g.paid(g.check(tick(0, inv.bolt11)), 'aa'.repeat(32))
  now.t += T * 1000
  g.resume(0)
  const again = g.check(tick(0, inv.bolt11))
  expect(again.paidPreimage).toBe('aa'.repeat(32))
  g.paid(again, 'aa'.repeat(32))
  expect(g.spentMsat).toBe(AMOUNT)
  expect(g.ticksPaid).toBe(1)
  // The same hash under another seq is still a reuse.
  expect(refusal(() => g.check(tick(1, inv.bolt11)))).toBe('INVOICE_HASH_REUSED')
})

test('decodeInvoice reads network, amount, payee and expiry; preimages verify', () => {
  const inv = makeInvoice({ amountMsat: 167, expiry: 60, timestamp: 1_700_000_000 })
  const d = decodeInvoice(inv.bolt11)
  expect(d).toMatchObject({ network: 'regtest', amountMsat: '167', paymentHash: inv.paymentHash, timestamp: 1_700_000_000, expiresAt: 1_700_000_060 })
  expect(d.payeeNodeKey).toMatch(/^0[23][0-9a-f]{64}$/)
  expect(decodeInvoice(makeInvoice({ amountMsat: 1000, network: 'bitcoin' }).bolt11).network).toBe('bitcoin')
  expect(preimageMatches(inv.preimage, inv.paymentHash)).toBe(true)
  expect(preimageMatches(Buffer.alloc(32), inv.paymentHash)).toBe(false)
  expect(preimageMatches(Buffer.alloc(31), inv.paymentHash)).toBe(false)
})
