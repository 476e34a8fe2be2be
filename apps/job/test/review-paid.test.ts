// A hostile review of the record of paid hashes: a provider that was paid once offers the same
// payment hash again in a new invoice, long after the first one expired.

import { join } from 'node:path'
import { expect, test } from 'vitest'
import { PaidHashes } from '../src/paid.js'
import { tempDir } from './helpers/temp.js'

const H1 = '11'.repeat(32)
const H2 = '22'.repeat(32)

test('a paid hash is still refused after its invoice expired: a new invoice may carry the same hash', async () => {
  const dir = await tempDir('job-paid-')
  const keys = join(dir, '.2020117_keys')
  const paid = await PaidHashes.open(keys, 'me')
  // Paid for an invoice that expired over an hour ago (as if time had passed): the next write must keep it.
  const now = Math.floor(Date.now() / 1000)
  expect(await paid.claim(H1, now - 3601)).toBe(true)
  expect(await paid.claim(H2, now + 600)).toBe(true)
  const reopened = await PaidHashes.open(keys, 'me')
  expect(reopened.has(H1)).toBe(true)
  expect(await reopened.claim(H1, now + 600)).toBe(false)
})
