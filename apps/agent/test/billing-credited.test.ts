// The provider's record of credited payment hashes (apps/agent/src/credited.ts, SPEC §5.3): a hash
// is claimed once, the record is on disk before the claim returns and survives a reopen, expired
// invoices leave it, and a file that is not such a record is refused rather than taken as empty.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { CreditedPayments, creditedPath } from '../src/credited.js'

const dir = () => mkdtempSync(join(tmpdir(), '2020117-credited-'))
const hash = (c: string) => c.repeat(64)
const now = Math.floor(Date.now() / 1000)

test('a payment hash is claimed once, in this run and after a reopen', async () => {
  const path = creditedPath(join(dir(), '.2020117_keys'), 'default')
  const record = await CreditedPayments.open(path)
  expect(await record.claim(hash('a'), now + 600)).toBe(true)
  expect(await record.claim(hash('a'), now + 600)).toBe(false)
  expect(await record.claim(hash('A'), now + 600)).toBe(false)
  expect(record.has(hash('a'))).toBe(true)
  const again = await CreditedPayments.open(path)
  expect(again.has(hash('a'))).toBe(true)
  expect(await again.claim(hash('a'), now + 600)).toBe(false)
  expect(await again.claim(hash('b'), now + 600)).toBe(true)
  expect(readFileSync(path, 'utf8')).toContain(hash('b'))
})

test('hashes of invoices that expired more than an hour ago leave the record; live ones stay', async () => {
  const path = join(dir(), 'credited.json')
  let clock = Date.now()
  const record = await CreditedPayments.open(path, () => clock)
  await record.claim(hash('c'), now + 60)
  await record.claim(hash('d'), now + 7200)
  clock += 2 * 3600 * 1000
  await record.claim(hash('e'), now + 3 * 3600)
  const again = await CreditedPayments.open(path)
  expect([again.has(hash('c')), again.has(hash('d')), again.has(hash('e'))]).toEqual([false, true, true])
})

test('a file that is not a record of credited payments is refused with STATE_FILE_INVALID', async () => {
  for (const text of ['not json', '[]', '{"version":2,"credited":{}}', `{"version":1,"credited":{"xyz":1}}`]) {
    const path = join(dir(), 'credited.json')
    writeFileSync(path, text)
    await expect(CreditedPayments.open(path)).rejects.toMatchObject({ code: 'STATE_FILE_INVALID' })
  }
})

test('the record of agent "a/b" lives beside its keys file, under a name that stays in that directory', () => {
  expect(creditedPath('/home/p/.2020117_keys', 'a/../b')).toBe('/home/p/.2020117_credited_a_.._b.json')
})
