// SPEC §8.2 to §8.7 are the wire vocabularies (reject codes, end reasons, stream reset codes,
// payment methods, Nostr kinds, gateway error codes): the lists in src/reasons.ts and
// src/kinds.ts must name exactly the values the SPEC names, no more and no fewer.

import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import {
  GATEWAY_ERROR_CODES,
  JOB_ERROR_REASONS,
  JOB_INPUT_TYPES,
  JOB_STATUSES,
  kinds,
  PAYMENT_METHODS,
  REPORT_TYPES,
  SESSION_END_REASONS,
  SESSION_REJECT_CODES,
  STREAM_RESET_CODES
} from '@2020117/protocol'

const spec = readFileSync(new URL('../SPEC.md', import.meta.url), 'utf8')

function section(heading: string): string {
  const start = spec.indexOf(heading)
  expect(start, `SPEC has a section ${heading}`).toBeGreaterThanOrEqual(0)
  const end = spec.indexOf('\n### ', start + heading.length)
  return spec.slice(start + heading.length, end < 0 ? undefined : end)
}

/** Codes in backticks; §8.3 names them in its table's first column only. */
function codes(text: string, firstColumnOnly: boolean, pattern = /`([A-Z][A-Z0-9_]+)`/g): string[] {
  const source = firstColumnOnly
    ? text
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .map((l) => l.split('|')[1] as string)
        .join(' ')
    : text
  return [...new Set([...source.matchAll(pattern)].map((m) => m[1] as string))].sort()
}

test('SPEC §8.2 lists exactly SESSION_REJECT_CODES', () => {
  const named = codes(section('### 8.2 `session_reject` codes').split('The lists of')[0] as string, false)
  expect(named).toEqual([...SESSION_REJECT_CODES].sort())
})

test('SPEC §8.3 lists exactly SESSION_END_REASONS', () => {
  expect(codes(section('### 8.3 `session_end` reasons'), true)).toEqual([...SESSION_END_REASONS].sort())
})

test('SPEC §8.4 lists exactly STREAM_RESET_CODES', () => {
  expect(codes(section('### 8.4 `stream_reset` codes'), true)).toEqual([...STREAM_RESET_CODES].sort())
})

test('SPEC §8.7 lists exactly GATEWAY_ERROR_CODES', () => {
  expect(codes(section('### 8.7 Gateway error codes'), true)).toEqual([...GATEWAY_ERROR_CODES].sort())
})

test('SPEC §8.5 lists exactly PAYMENT_METHODS', () => {
  const named = codes(section('### 8.5 Payment methods'), true, /`([a-z0-9][a-z0-9_-]*)`/g)
  expect(named).toEqual([...PAYMENT_METHODS].sort())
})

test('SPEC §8.6 lists exactly KINDS, each under its name in src/kinds.ts', () => {
  const rows = section('### 8.6 Nostr event kinds')
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|').map((c) => c.trim().replace(/`/g, '')))
  const named = Object.fromEntries(rows.map((r) => [r[2] as string, Number(r[1])]))
  const { KINDS, ...byName } = kinds
  expect(named).toEqual(byName)
  expect(Object.values(named).sort((a, b) => a - b)).toEqual([...KINDS].sort((a, b) => a - b))
})

test('SPEC §10.6 and §10.7 list exactly JOB_STATUSES, JOB_INPUT_TYPES and JOB_ERROR_REASONS', () => {
  const lists = section('### 10.6 Statuses and input types')
  const after = (label: string) =>
    [
      ...lists
        .split(label)[1]!
        .split('\n')[0]!
        .matchAll(/`([a-z-]+)`/g)
    ]
      .map((m) => m[1])
      .sort()
  expect(after('Statuses (`JOB_STATUSES`):')).toEqual([...JOB_STATUSES].sort())
  expect(after('Input types (`JOB_INPUT_TYPES`):')).toEqual([...JOB_INPUT_TYPES].sort())
  expect(codes(section('### 10.7 Error reasons'), true)).toEqual([...JOB_ERROR_REASONS].sort())
})

test('SPEC §11.4 lists exactly REPORT_TYPES', () => {
  const line = section('### 11.4 Reports').split('Report types (`REPORT_TYPES`):')[1]!.split('\n')[0]!
  expect([...line.matchAll(/`([a-z]+)`/g)].map((m) => m[1]).sort()).toEqual([...REPORT_TYPES].sort())
})
