// The score's table of vectors (vectors/score.json): every weight of the README's "The score", one
// row each, and the rows the README's worked examples are taken from.

import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { score, type ScoreInputs, type ScoreResult } from '@2020117/reputation'

interface Vector {
  name: string
  inputs: ScoreInputs
  expected: ScoreResult
}

const VECTORS = JSON.parse(readFileSync(new URL('../vectors/score.json', import.meta.url), 'utf8')) as Vector[]

describe('score', () => {
  test('the table has a row for every case it must cover', () => {
    expect(VECTORS.length).toBeGreaterThanOrEqual(12)
    expect(new Set(VECTORS.map((v) => v.name)).size).toBe(VECTORS.length)
  })

  test.each(VECTORS.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(score(v.inputs)).toEqual(v.expected)
  })

  test('the score is the sum of its terms', () => {
    for (const v of VECTORS) {
      const { score: total, terms } = score(v.inputs)
      expect(total).toBeCloseTo(terms.trust + terms.zaps + terms.jobs + terms.rating, 9)
    }
  })

  test('a worse rating never scores higher', () => {
    const at = (rating: number): number =>
      score({
        vouchers: { follows: 0, graph: 0, outside: 0 },
        zapSats: { inGraph: 0, outside: 0 },
        reviews: [{ rating, verified: true, inGraph: true }],
        jobsCompleted: 1
      }).score
    for (let r = 1; r < 5; r++) expect(at(r)).toBeLessThan(at(r + 1))
    expect(at(3)).toBe(5)
  })
})
