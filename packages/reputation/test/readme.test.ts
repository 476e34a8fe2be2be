// The project README's "The score" and the code agree: its table of weights is WEIGHTS, and each
// worked example is a row of vectors/score.json that score() computes as written.

import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { score, WEIGHTS, type ScoreInputs, type ScoreResult } from '@2020117/reputation'

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
const start = readme.indexOf('\n### The score\n')
const section = readme.slice(start, readme.indexOf('\n## ', start))
const vectors = JSON.parse(readFileSync(new URL('../vectors/score.json', import.meta.url), 'utf8')) as Array<{
  inputs: ScoreInputs
  expected: ScoreResult
}>

describe('README: Reputation → The score', () => {
  test('the table of weights is WEIGHTS, every one of them', () => {
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` +\| ([-0-9.]+) +\|/gm)].map((m) => [m[1], Number(m[2])])
    expect(Object.fromEntries(rows)).toEqual({ ...WEIGHTS })
    expect(rows.length).toBe(Object.keys(WEIGHTS).length)
  })

  test('each worked example is a vector, and score() gives what it says', () => {
    const examples = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map(
      (m) => JSON.parse(m[1] as string) as { inputs: ScoreInputs; expected: ScoreResult }
    )
    expect(examples.length).toBe(3)
    for (const example of examples) {
      expect(score(example.inputs)).toEqual(example.expected)
      expect(vectors).toContainEqual(expect.objectContaining(example))
    }
  })
})
