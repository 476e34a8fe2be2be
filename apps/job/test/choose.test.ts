// How 2020117-job weighs offers by reputation (src/choose.ts), with reputations made to order: the
// price against the score, and the refusals (flagged, --min-score, --min-zap-sats) each with its
// code; every rated provider before an unrated one; and a rating bounded in time, whose failure
// leaves the providers unrated with a warning.

import { describe, expect, test } from 'vitest'
import type { Reputation } from '@2020117/reputation'
import { decide, rateWithin, type ChoiceTerms } from '../src/choose.js'
import type { ApprovedInvoice } from '../src/offers.js'
import { fakeRater, reputationOf } from './helpers/reputation.js'

const A = 'aa'.repeat(32)
const B = 'bb'.repeat(32)
const NONE: ChoiceTerms = { minScore: null, allowFlagged: false, minZapSats: null }

function offer(provider: string, amountMsat: number): ApprovedInvoice {
  return { provider, amountMsat, bolt11: `lnbcrt-${provider.slice(0, 4)}`, invoice: {} as ApprovedInvoice['invoice'] }
}

/** The rated providers: these reputations, and `strangers` rated but known of nothing (null); any other is unrated. */
function rated(rs: Reputation[], strangers: string[] = []): Map<string, Reputation | null> {
  return new Map<string, Reputation | null>([
    ...rs.map((r) => [r.pubkey, r] as const),
    ...strangers.map((p) => [p, null] as const)
  ])
}

describe('decide', () => {
  test('a pricier provider scoring 100 comes before a cheaper one scoring 0 (6000/2 < 4000/1)', () => {
    const d = decide([offer(B, 4000), offer(A, 6000)], rated([reputationOf(A, { score: 100 })], [B]), NONE)
    expect(d.order.map((o) => o.provider)).toEqual([A, B])
    expect(d.refusals).toEqual([])
    expect(d.considered).toEqual([
      {
        provider: A,
        amountMsat: 6000,
        score: 100,
        flagged: false,
        rated: true,
        effectivePriceMsat: 3000,
        refused: null
      },
      { provider: B, amountMsat: 4000, score: 0, flagged: false, rated: true, effectivePriceMsat: 4000, refused: null }
    ])
  })

  test('a score that does not make up for the price: the cheaper one first (6000/1.4 > 4000)', () => {
    const d = decide([offer(A, 6000), offer(B, 4000)], rated([reputationOf(A, { score: 40 })], [B]), NONE)
    expect(d.order.map((o) => o.provider)).toEqual([B, A])
  })

  test('a flagged provider is refused (JOB_PROVIDER_FLAGGED) unless flagged ones are allowed', () => {
    const reps = rated([reputationOf(A, { score: 500, flagged: true })], [B])
    const d = decide([offer(A, 1000), offer(B, 4000)], reps, NONE)
    expect(d.order.map((o) => o.provider)).toEqual([B])
    expect(d.refusals.map((r) => [r.offer.provider, r.error.code])).toEqual([[A, 'JOB_PROVIDER_FLAGGED']])
    expect(d.refusals[0]!.error.message).toMatch(/reported by 3 of your graph.*--allow-flagged/)
    expect(d.considered.find((c) => c.provider === A)).toMatchObject({ flagged: true, refused: 'JOB_PROVIDER_FLAGGED' })
    const allowed = decide([offer(A, 1000), offer(B, 4000)], reps, { ...NONE, allowFlagged: true })
    expect(allowed.order.map((o) => o.provider)).toEqual([A, B])
  })

  test('--min-score refuses those below it (JOB_LOW_SCORE), a stranger (rated, known of nothing) scoring 0', () => {
    const reps = rated([reputationOf(A, { score: 10 })], [B])
    const d = decide([offer(A, 1000), offer(B, 1000)], reps, { ...NONE, minScore: 5 })
    expect(d.order.map((o) => o.provider)).toEqual([A])
    expect(d.refusals.map((r) => [r.offer.provider, r.error.code])).toEqual([[B, 'JOB_LOW_SCORE']])
    expect(d.refusals[0]!.error.message).toMatch(/scores 0, below --min-score=5/)
  })

  test('every rated provider comes before an unrated one, however cheap; a stranger counts as rated', () => {
    const reps = rated([], [A]) // A: rated, a stranger; B: its rating never came
    const d = decide([offer(B, 1000), offer(A, 6000)], reps, NONE)
    expect(d.order.map((o) => o.provider)).toEqual([A, B])
    expect(d.considered.map((c) => [c.provider, c.rated])).toEqual([
      [A, true],
      [B, false]
    ])
  })

  test('an unrated provider is ranked when no rated one qualifies (the rated one is flagged)', () => {
    const d = decide([offer(A, 1000), offer(B, 5000)], rated([reputationOf(A, { flagged: true })]), NONE)
    expect(d.order.map((o) => o.provider)).toEqual([B])
    expect(d.refusals.map((r) => [r.offer.provider, r.error.code])).toEqual([[A, 'JOB_PROVIDER_FLAGGED']])
  })

  test('with --min-score above 0 or --min-zap-sats, an unrated provider is refused (JOB_UNRATED)', () => {
    for (const terms of [
      { ...NONE, minScore: 1 },
      { ...NONE, minZapSats: 1 }
    ]) {
      const d = decide([offer(B, 1000)], new Map(), terms)
      expect(d.order).toEqual([])
      expect(d.refusals.map((r) => [r.offer.provider, r.error.code])).toEqual([[B, 'JOB_UNRATED']])
      expect(d.refusals[0]!.error.message).toMatch(/reputation could not be read/)
    }
    expect(decide([offer(B, 1000)], new Map(), { ...NONE, minScore: 0 }).order.map((o) => o.provider)).toEqual([B])
  })

  test('--min-zap-sats refuses a provider whose validated zaps total less (JOB_LOW_ZAPS), whatever its score', () => {
    const reps = rated([reputationOf(A, { score: 300, zapSats: 99 }), reputationOf(B, { zapSats: 100 })])
    const d = decide([offer(A, 1000), offer(B, 5000)], reps, { ...NONE, minZapSats: 100 })
    expect(d.order.map((o) => o.provider)).toEqual([B])
    expect(d.refusals.map((r) => [r.offer.provider, r.error.code])).toEqual([[A, 'JOB_LOW_ZAPS']])
    expect(d.refusals[0]!.error.message).toMatch(/total 99 sats, below the 100 sats/)
    expect(d.refusals[0]!.error.exitCode).toBe(5)
  })
})

describe('rateWithin', () => {
  test('the reputations come in one read; a provider the rater knows nothing of maps to null', async () => {
    const warnings: string[] = []
    const r = reputationOf(A, { score: 7 })
    const rater = fakeRater({ [A]: r })
    expect(await rateWithin(rater, [A, B], 5000, (w) => warnings.push(w))).toEqual(
      new Map([
        [A, r],
        [B, null]
      ])
    )
    expect(rater.asked).toEqual([[A, B]])
    expect(warnings).toEqual([])
  })

  test('a rating that never comes leaves them all unrated (null) once the bound passes, with a warning', async () => {
    const warnings: string[] = []
    expect(await rateWithin(fakeRater({ [A]: 'hang' }), [A], 50, (w) => warnings.push(w))).toBeNull()
    expect(warnings).toEqual([expect.stringMatching(/no reputation for aaaaaaaaaaaa… within 50 ms: unrated/)])
  })

  test('a rating that fails (a relay refused) leaves them unrated (null), with a warning that says why', async () => {
    const warnings: string[] = []
    expect(await rateWithin(fakeRater({ [A]: 'fail' }), [A, B], 5000, (w) => warnings.push(w))).toBeNull()
    expect(warnings).toEqual([
      expect.stringMatching(/2 providers \(aaaaaaaaaaaa…, …\).*relay refused the query.*: unrated/)
    ])
  })
})
