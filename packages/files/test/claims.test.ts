// The record of things that may happen once (src/claims.ts): a key is claimed once, the record is
// on disk before the claim returns and survives a reopen, expired keys leave it, and a file that is
// not such a record is refused rather than taken as empty.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { ClaimRecord } from '@2020117/files'

const dir = () => mkdtempSync(join(tmpdir(), '2020117-claims-'))
const hash = (c: string) => c.repeat(64)
const now = Math.floor(Date.now() / 1000)

test('a key is claimed once, in this run and after a reopen', async () => {
  const path = join(dir(), 'claims.json')
  const record = await ClaimRecord.open(path)
  expect(await record.claim(hash('a'), now + 600)).toBe(true)
  expect(await record.claim(hash('a'), now + 600)).toBe(false)
  expect(await record.claim(hash('A'), now + 600)).toBe(false)
  expect(record.has(hash('a'))).toBe(true)
  const again = await ClaimRecord.open(path)
  expect(again.has(hash('a'))).toBe(true)
  expect(await again.claim(hash('a'), now + 600)).toBe(false)
  expect(await again.claim(hash('b'), now + 600)).toBe(true)
  expect(readFileSync(path, 'utf8')).toContain(hash('b'))
})

test('keys kept until more than an hour ago leave the record; live ones stay', async () => {
  const path = join(dir(), 'credited.json')
  let clock = Date.now()
  const record = await ClaimRecord.open(path, () => clock)
  await record.claim(hash('c'), now + 60)
  await record.claim(hash('d'), now + 7200)
  clock += 2 * 3600 * 1000
  await record.claim(hash('e'), now + 3 * 3600)
  const again = await ClaimRecord.open(path)
  expect([again.has(hash('c')), again.has(hash('d')), again.has(hash('e'))]).toEqual([false, true, true])
})

test('a file that is not a record of claims is refused with STATE_FILE_INVALID', async () => {
  for (const text of [
    'not json',
    '[]',
    '{"version":2,"claimed":{}}',
    `{"version":1,"claimed":{"xyz":1}}`,
    `{"version":1}`
  ]) {
    const path = join(dir(), 'credited.json')
    writeFileSync(path, text)
    await expect(ClaimRecord.open(path)).rejects.toMatchObject({ code: 'STATE_FILE_INVALID' })
  }
})

test("reads the agent's record of credited payments as it was written before it was a claim record", async () => {
  const path = join(dir(), 'credited.json')
  writeFileSync(path, JSON.stringify({ version: 1, credited: { [hash('f')]: now + 600 } }))
  const record = await ClaimRecord.open(path)
  expect(await record.claim(hash('f'), now + 600)).toBe(false)
})
