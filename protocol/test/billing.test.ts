import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { earlyToleranceMs, tickAmountMsat, tickDueMs } from '../src/billing.js'
import { ProtocolError } from '../src/errors.js'
import { kindTopic } from '../src/topic.js'

const vectors: Array<{ satsPerMinute: number; tickSeconds: number; amountMsat: number }> = JSON.parse(
  readFileSync(new URL('../vectors/tick-amounts.json', import.meta.url), 'utf8')
)

test.each(vectors)('$satsPerMinute sats/min for $tickSeconds s costs $amountMsat msat', (v) => {
  expect(tickAmountMsat(v.satsPerMinute, v.tickSeconds)).toBe(v.amountMsat)
})

test('the rule rounds up to the msat and is exact for whole minutes', () => {
  expect(tickAmountMsat(5, 60)).toBe(5000)
  expect(tickAmountMsat(5, 2)).toBe(167) // 166.67 rounds up
  expect(tickAmountMsat(3, 20)).toBe(1000) // exact: no rounding
  for (let spm = 0; spm < 50; spm++) {
    for (let s = 1; s <= 120; s++) {
      const exact = (spm * 1000 * s) / 60
      const amount = tickAmountMsat(spm, s)
      expect(amount).toBeGreaterThanOrEqual(exact)
      expect(amount - exact).toBeLessThan(1)
    }
  }
})

test('out-of-range prices and periods are refused', () => {
  expect(() => tickAmountMsat(-1, 60)).toThrow(ProtocolError)
  expect(() => tickAmountMsat(1.5, 60)).toThrow(ProtocolError)
  expect(() => tickAmountMsat(5, 0)).toThrow(ProtocolError)
  expect(() => tickAmountMsat(5, 3601)).toThrow(ProtocolError)
})

test('tick timing helpers', () => {
  expect(tickDueMs(3, 2)).toBe(6000)
  expect(earlyToleranceMs(2)).toBe(200)
  expect(earlyToleranceMs(60)).toBe(1000)
})

test('kind topics are sha256 of the documented string', () => {
  // Computed independently of the implementation under test.
  const expected = createHash('sha256').update('2020117:kind:5200', 'ascii').digest('hex')
  expect(Buffer.from(kindTopic(5200)).toString('hex')).toBe(expected)
  expect(Buffer.from(kindTopic(5200))).not.toEqual(Buffer.from(kindTopic(5100)))
  expect(() => kindTopic(70000)).toThrow(ProtocolError)
})
