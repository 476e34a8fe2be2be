// SPEC §8.2 and §8.3 are the wire vocabularies of session_reject and session_end: the lists in
// src/reasons.ts must name exactly the codes the SPEC tables name, no more and no fewer.

import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { SESSION_END_REASONS, SESSION_REJECT_CODES } from '@2020117/protocol'

const spec = readFileSync(new URL('../SPEC.md', import.meta.url), 'utf8')

function section(heading: string): string {
  const start = spec.indexOf(heading)
  expect(start, `SPEC has a section ${heading}`).toBeGreaterThanOrEqual(0)
  const end = spec.indexOf('\n### ', start + heading.length)
  return spec.slice(start + heading.length, end < 0 ? undefined : end)
}

/** Codes in backticks; §8.3 names them in its table's first column only. */
function codes(text: string, firstColumnOnly: boolean): string[] {
  const source = firstColumnOnly
    ? text
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .map((l) => l.split('|')[1] as string)
        .join(' ')
    : text
  return [...new Set([...source.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string))].sort()
}

test('SPEC §8.2 lists exactly SESSION_REJECT_CODES', () => {
  const named = codes(section('### 8.2 `session_reject` codes').split('The lists of')[0] as string, false)
  expect(named).toEqual([...SESSION_REJECT_CODES].sort())
})

test('SPEC §8.3 lists exactly SESSION_END_REASONS', () => {
  expect(codes(section('### 8.3 `session_end` reasons'), true)).toEqual([...SESSION_END_REASONS].sort())
})
