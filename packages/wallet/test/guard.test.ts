import { createHash, randomBytes } from 'node:crypto'
import bolt11 from 'bolt11'
import { describe, expect, test } from 'vitest'
import type { Tick } from '@2020117/protocol'
import { TickGuard, WalletError, decodeInvoice, preimageMatches } from '../src/index.js'
import { signInvoice, NETWORKS, NODE_A, NODE_B } from '@2020117/testkit'

const sessionId = new Uint8Array(16)
const T = 2
const AMOUNT = 167 // 5 sats/min for 2 s

function guard(now = { t: 0 }, budgetSats = 1) {
  return {
    now,
    g: new TickGuard({
      satsPerMinute: 5,
      tickSeconds: T,
      budgetSats,
      network: 'regtest',
      startedAt: 0,
      now: () => now.t
    })
  }
}

function tick(seq: number, bolt11: string, over: Partial<Tick> = {}): Tick {
  return {
    type: 'tick',
    sessionId,
    seq,
    amountMsat: AMOUNT,
    bolt11,
    periodStart: seq * T,
    periodEnd: (seq + 1) * T,
    ...over
  }
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
    const a = g.check(tick(0, signInvoice({ amountMsat: AMOUNT }).bolt11))
    expect(a.amountMsat).toBe(167)
    g.paid(a, 'p')
    now.t += T * 1000
    g.paid(g.check(tick(1, signInvoice({ amountMsat: AMOUNT }).bolt11)), 'p')
    expect(g.spentMsat).toBe(334)
    expect(g.ticksPaid).toBe(2)
    expect(g.paidUntil).toBe(4)
  })

  const nowMs = Date.now()
  const cases: Array<[string, (g: TickGuard) => Tick, string]> = [
    ['an inflated invoice', () => tick(0, signInvoice({ amountMsat: AMOUNT + 1 }).bolt11), 'INVOICE_AMOUNT_MISMATCH'],
    [
      'a tick amount that disagrees with the rule',
      () => tick(0, signInvoice({ amountMsat: AMOUNT }).bolt11, { amountMsat: 166 }),
      'INVOICE_AMOUNT_MISMATCH'
    ],
    ['a zero-amount invoice', () => tick(0, signInvoice({ amountMsat: 0 }).bolt11), 'INVOICE_AMOUNT_MISMATCH'],
    [
      'an invoice for another network',
      () => tick(0, signInvoice({ amountMsat: AMOUNT, network: 'bitcoin' }).bolt11),
      'INVOICE_NETWORK_MISMATCH'
    ],
    [
      'an expired invoice',
      () => tick(0, signInvoice({ amountMsat: AMOUNT, timestamp: Math.floor(nowMs / 1000) - 700, expiry: 600 }).bolt11),
      'INVOICE_EXPIRED'
    ],
    ['garbage', () => tick(0, 'lnbcrt1garbage'), 'INVOICE_INVALID'],
    ['a seq out of order', () => tick(1, signInvoice({ amountMsat: AMOUNT }).bolt11), 'TICK_OUT_OF_ORDER'],
    ['a wrong period', () => tick(0, signInvoice({ amountMsat: AMOUNT }).bolt11, { periodEnd: 3 }), 'TICK_OUT_OF_ORDER']
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
    const terms = {
      satsPerMinute: 5,
      tickSeconds: T,
      budgetSats: 10,
      network: 'regtest' as const,
      startedAt: now.t,
      seenHashes,
      now: () => now.t
    }
    const inv = signInvoice({ amountMsat: AMOUNT })
    const g1 = new TickGuard(terms)
    g1.paid(g1.check(tick(0, inv.bolt11)), 'p')
    now.t += T * 1000
    const sameHash = signInvoice({ amountMsat: AMOUNT, preimage: inv.preimage }) // a new invoice for a paid hash
    expect(refusal(() => g1.check(tick(1, sameHash.bolt11)))).toBe('INVOICE_HASH_REUSED')
    const g2 = new TickGuard({ ...terms, startedAt: now.t })
    expect(refusal(() => g2.check(tick(0, inv.bolt11)))).toBe('INVOICE_HASH_REUSED')
    expect(g2.spentMsat).toBe(0)
  })

  test('refuses another payee after the first tick', () => {
    const now = { t: Date.now() }
    const g = new TickGuard({
      satsPerMinute: 5,
      tickSeconds: T,
      budgetSats: 10,
      network: 'regtest',
      startedAt: now.t,
      now: () => now.t
    })
    g.paid(g.check(tick(0, signInvoice({ amountMsat: AMOUNT }).bolt11)), 'p')
    now.t += T * 1000
    expect(refusal(() => g.check(tick(1, signInvoice({ amountMsat: AMOUNT, key: NODE_B }).bolt11)))).toBe(
      'INVOICE_PAYEE_CHANGED'
    )
  })

  test('refuses a tick earlier than its period allows, but tolerates timer jitter', () => {
    const now = { t: 1_000_000 }
    const g = new TickGuard({
      satsPerMinute: 5,
      tickSeconds: T,
      budgetSats: 10,
      network: 'regtest',
      startedAt: now.t,
      now: () => now.t
    })
    g.paid(g.check(tick(0, signInvoice({ amountMsat: AMOUNT }).bolt11)), 'p')
    now.t += 1000 // tick 1 is due at +2000 ms; 200 ms of tolerance
    expect(refusal(() => g.check(tick(1, signInvoice({ amountMsat: AMOUNT }).bolt11)))).toBe('TICK_TOO_EARLY')
    const g2 = new TickGuard({
      satsPerMinute: 5,
      tickSeconds: T,
      budgetSats: 10,
      network: 'regtest',
      startedAt: 0,
      now: () => 1850
    })
    g2.paid(g2.check(tick(0, signInvoice({ amountMsat: AMOUNT }).bolt11)), 'p')
    expect(g2.check(tick(1, signInvoice({ amountMsat: AMOUNT }).bolt11)).seq).toBe(1)
  })

  test('refuses to pass the budget, and says when it cannot afford the next tick', () => {
    const now = { t: Date.now() }
    const g = new TickGuard({
      satsPerMinute: 60,
      tickSeconds: 1,
      budgetSats: 2,
      network: 'regtest',
      startedAt: now.t,
      now: () => now.t
    })
    g.paid(g.check({ ...tick(0, signInvoice({ amountMsat: 1000 }).bolt11), amountMsat: 1000, periodEnd: 1 }), 'p')
    expect(g.canAffordNext()).toBe(true)
    now.t += 1000
    g.paid(
      g.check({ ...tick(1, signInvoice({ amountMsat: 1000 }).bolt11), amountMsat: 1000, periodStart: 1, periodEnd: 2 }),
      'p'
    )
    expect(g.canAffordNext()).toBe(false)
    now.t += 1000
    expect(
      refusal(() =>
        g.check({
          ...tick(2, signInvoice({ amountMsat: 1000 }).bolt11),
          amountMsat: 1000,
          periodStart: 2,
          periodEnd: 3
        })
      )
    ).toBe('BUDGET_EXHAUSTED')
    expect(g.spentMsat).toBe(2000)
  })
})

test('after a resume, a re-sent bill already paid is acknowledged with its preimage and never paid again', () => {
  const now = { t: Date.now() }
  const g = new TickGuard({
    satsPerMinute: 5,
    tickSeconds: T,
    budgetSats: 10,
    network: 'regtest',
    startedAt: now.t,
    now: () => now.t
  })
  const inv = signInvoice({ amountMsat: AMOUNT })
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
  const inv = signInvoice({ amountMsat: 167, expiry: 60, timestamp: 1_700_000_000 })
  const d = decodeInvoice(inv.bolt11)
  expect(d).toMatchObject({
    network: 'regtest',
    amountMsat: '167',
    paymentHash: inv.paymentHash,
    timestamp: 1_700_000_000,
    expiresAt: 1_700_000_060
  })
  expect(d.payeeNodeKey).toMatch(/^0[23][0-9a-f]{64}$/)
  expect(decodeInvoice(signInvoice({ amountMsat: 1000, network: 'bitcoin' }).bolt11).network).toBe('bitcoin')
  expect(preimageMatches(inv.preimage, inv.paymentHash)).toBe(true)
  expect(preimageMatches(Buffer.alloc(32), inv.paymentHash)).toBe(false)
  expect(preimageMatches(Buffer.alloc(31), inv.paymentHash)).toBe(false)
})

describe('resume: a paid period is never billed twice (SPEC §5.5)', () => {
  function resumed() {
    const now = { t: Date.now() }
    const g = new TickGuard({
      satsPerMinute: 5,
      tickSeconds: T,
      budgetSats: 10,
      network: 'regtest',
      startedAt: now.t,
      now: () => now.t
    })
    const invs = [0, 1, 2].map(() => signInvoice({ amountMsat: AMOUNT }))
    for (const [seq, inv] of invs.entries()) {
      now.t = g['terms'].startedAt + seq * T * 1000
      g.paid(g.check(tick(seq, inv.bolt11)), String(seq).repeat(64))
    }
    return { g, now, invs }
  }

  test('a paid seq re-sent with a fresh invoice is refused: TICK_ALREADY_PAID, nothing more spent', () => {
    const { g } = resumed()
    g.resume(2)
    expect(refusal(() => g.check(tick(2, signInvoice({ amountMsat: AMOUNT }).bolt11)))).toBe('TICK_ALREADY_PAID')
    expect(g.spentMsat).toBe(3 * AMOUNT)
  })

  test('a paid seq re-sent with its own invoice is acknowledged with the stored preimage', () => {
    const { g, invs } = resumed()
    g.resume(2)
    const again = g.check(tick(2, (invs[2] as { bolt11: string }).bolt11))
    expect(again.paidPreimage).toBe('2'.repeat(64))
    g.paid(again, '2'.repeat(64))
    expect({ spent: g.spentMsat, ticks: g.ticksPaid }).toEqual({ spent: 3 * AMOUNT, ticks: 3 })
  })

  test('nextSeq below the paid count, beyond the one payment that may have been in flight, is refused: RESUME_REWOUND', () => {
    const { g } = resumed()
    expect(refusal(() => g.resume(0))).toBe('RESUME_REWOUND')
    expect(refusal(() => g.resume(1))).toBe('RESUME_REWOUND')
    g.resume(2) // tick 2's tick_ack may have been lost with the connection
    g.resume(3)
  })
})

/** A signed regtest invoice whose route hints charge `feeBaseMsat` + `ppm` on the last hop. */
function hintedInvoice(amountMsat: number, routes: Array<Array<{ feeBaseMsat: number; ppm: number }>>): string {
  const preimage = randomBytes(32)
  const tags: Array<{ tagName: string; data: unknown }> = [
    { tagName: 'payment_hash', data: createHash('sha256').update(preimage).digest('hex') },
    { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
    { tagName: 'description', data: '2020117 test tick' },
    { tagName: 'expire_time', data: 600 }
  ]
  for (const route of routes) {
    tags.push({
      tagName: 'routing_info',
      data: route.map((h, i) => ({
        pubkey:
          i % 2
            ? '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5'
            : '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
        short_channel_id: '0102030405060708',
        fee_base_msat: h.feeBaseMsat,
        fee_proportional_millionths: h.ppm,
        cltv_expiry_delta: 40
      }))
    })
  }
  const encoded = bolt11.encode({
    network: NETWORKS.regtest,
    millisatoshis: String(amountMsat),
    timestamp: Math.floor(Date.now() / 1000),
    tags
  })
  return bolt11.sign(encoded, NODE_A).paymentRequest as string
}

describe('routing fees count against the budget', () => {
  const feeGuard = (budgetSats: number, maxFeeMsat: number) => {
    const now = { t: Date.now() }
    return {
      now,
      g: new TickGuard({
        satsPerMinute: 60,
        tickSeconds: 1,
        budgetSats,
        maxFeeMsat,
        network: 'regtest',
        startedAt: now.t,
        now: () => now.t
      })
    }
  }
  const oneSat = (seq: number, bolt: string): Tick => ({
    ...tick(seq, bolt),
    amountMsat: 1000,
    periodStart: seq,
    periodEnd: seq + 1
  })

  test('decodeInvoice reads every route hint', () => {
    const d = decodeInvoice(
      hintedInvoice(1000, [
        [{ feeBaseMsat: 1, ppm: 2 }],
        [
          { feeBaseMsat: 3, ppm: 4 },
          { feeBaseMsat: 5, ppm: 6 }
        ]
      ])
    )
    expect(d.routeHints.map((r) => r.map((h) => [h.feeBaseMsat, h.feeProportionalMillionths]))).toEqual([
      [[1, 2]],
      [
        [3, 4],
        [5, 6]
      ]
    ])
  })

  test('an invoice whose route hints would charge more than the fee limit is refused: FEE_TOO_HIGH, nothing spent', () => {
    const { g } = feeGuard(100, 2000)
    // 10,000 sat of base fee on a 1 sat payment.
    expect(refusal(() => g.check(oneSat(0, hintedInvoice(1000, [[{ feeBaseMsat: 10_000_000, ppm: 0 }]]))))).toBe(
      'FEE_TOO_HIGH'
    )
    // A cheap route beside an expensive one: the wallet may take either, so the dearest counts.
    const { g: g2 } = feeGuard(100, 2000)
    expect(
      refusal(() =>
        g2.check(
          oneSat(
            0,
            hintedInvoice(1000, [
              [{ feeBaseMsat: 0, ppm: 0 }],
              [
                { feeBaseMsat: 1000, ppm: 0 },
                { feeBaseMsat: 1001, ppm: 0 }
              ]
            ])
          )
        )
      )
    ).toBe('FEE_TOO_HIGH')
    // A proportional fee that overflows 2^53 on the way is still counted exactly.
    const { g: g3 } = feeGuard(100, 2000)
    expect(
      refusal(() =>
        g3.check(
          oneSat(
            0,
            hintedInvoice(1000, [
              [
                { feeBaseMsat: 0xffffffff, ppm: 0xffffffff },
                { feeBaseMsat: 0xffffffff, ppm: 0xffffffff }
              ]
            ])
          )
        )
      )
    ).toBe('FEE_TOO_HIGH')
    const { g: g4 } = feeGuard(100, 2000)
    expect(
      g4.check(
        oneSat(
          0,
          hintedInvoice(1000, [
            [
              { feeBaseMsat: 1000, ppm: 1000 },
              { feeBaseMsat: 998, ppm: 0 }
            ]
          ])
        )
      ).seq
    ).toBe(0)
  })

  test('fees the wallet reports count as spent, and the budget keeps the fee limit in reserve: the total never passes it', () => {
    const { now, g } = feeGuard(3, 500)
    g.paid(g.check(oneSat(0, signInvoice({ amountMsat: 1000 }).bolt11)), 'p', 400)
    expect({ spent: g.spentMsat, fees: g.feesMsat }).toEqual({ spent: 1400, fees: 400 })
    // 1400 + 1000 + 500 reserve ≤ 3000: affordable. After it, 2800 + 1000 > 3000.
    expect(g.canAffordNext()).toBe(true)
    now.t += 1000
    g.paid(g.check(oneSat(1, signInvoice({ amountMsat: 1000 }).bolt11)), 'p', 400)
    expect(g.spentMsat).toBe(2800)
    expect(g.canAffordNext()).toBe(false)
    now.t += 1000
    expect(refusal(() => g.check(oneSat(2, signInvoice({ amountMsat: 1000 }).bolt11)))).toBe('BUDGET_EXHAUSTED')
    expect(g.spentMsat).toBeLessThanOrEqual(3000)
  })

  test('a payment whose reported fee is above the limit stops further payments: FEE_TOO_HIGH', () => {
    const { now, g } = feeGuard(100, 500)
    g.paid(g.check(oneSat(0, signInvoice({ amountMsat: 1000 }).bolt11)), 'p', 900)
    now.t += 1000
    expect(refusal(() => g.check(oneSat(1, signInvoice({ amountMsat: 1000 }).bolt11)))).toBe('FEE_TOO_HIGH')
  })
})
