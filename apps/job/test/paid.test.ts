// The record of paid hashes is shared by every run of one identity, including runs at the same time:
// a hash one run claimed is refused to the other, and no run's write drops another's claim.

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { PaidHashes } from '../src/paid.js'
import { tempDir } from './helpers/temp.js'

const H1 = '11'.repeat(32)
const H2 = '22'.repeat(32)
const later = () => Math.floor(Date.now() / 1000) + 600

test('two runs opened at once: a hash claimed by one is refused to the other, and both claims stay on disk', async () => {
  const dir = await tempDir('job-paid-')
  const keys = join(dir, '.2020117_keys')
  const first = await PaidHashes.open(keys, 'me')
  const second = await PaidHashes.open(keys, 'me')
  expect(first.path).toBe(join(dir, '.2020117_paid_me.json'))
  expect(await first.claim(H1, later())).toBe(true)
  expect(second.has(H1)).toBe(false) // what it read at its start
  expect(await second.claim(H1, later())).toBe(false) // the disk, read again under the lock
  expect(await second.claim(H2, later())).toBe(true)
  const third = await PaidHashes.open(keys, 'me')
  expect(third.has(H1) && third.has(H2)).toBe(true)
})

test('an identity name is never a path: it is kept to safe characters', async () => {
  const dir = await tempDir('job-paid-')
  const paid = await PaidHashes.open(join(dir, 'keys'), '../../etc/x')
  expect(paid.path).toBe(join(dir, '.2020117_paid_.._.._etc_x.json'))
})

test('a record that is not one is refused, never taken as empty', async () => {
  const dir = await tempDir('job-paid-')
  await writeFile(join(dir, '.2020117_paid_me.json'), 'not json')
  await expect(PaidHashes.open(join(dir, 'keys'), 'me')).rejects.toMatchObject({ code: 'STATE_FILE_INVALID' })
})
