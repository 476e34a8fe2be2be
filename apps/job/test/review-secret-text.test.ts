// Hostile review of issue 13: a --review text is published to every relay for anyone to read.
// 2020117-session refuses one that holds the customer's secret (REVIEW_HOLDS_SECRET); 2020117-job
// took it, and after a delivered job would have signed it into a 31117. Refused up front here, as a
// usage error, before anything is sent, and without echoing the secret.

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { nip19 } from 'nostr-tools'
import { tempDir } from './helpers/temp.js'

const net = await startTestNetwork({ teardown: afterAll })

test('a --review text that holds our own secret key is refused before anything is sent, and not echoed', async () => {
  const dir = await tempDir('job-review-secret-')
  const secretKey = generateSecretKey()
  const privkey = Buffer.from(secretKey).toString('hex')
  await writeFile(join(dir, 'keys.json'), JSON.stringify({ me: { privkey, pubkey: getPublicKey(secretKey) } }), {
    mode: 0o600
  })
  const nsec = nip19.nsecEncode(secretKey)
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    `--keys-file=${join(dir, 'keys.json')}`,
    '--agent=me',
    '--kind=5050',
    '--input=x',
    '--bid=10',
    '--timeout=1',
    `--review=5:great, my key is ${nsec}`
  ])
  expect(await job.exited).toBe(2)
  expect(job.stderr()).toMatch(/INVALID_FLAG: --review .*secret/)
  expect(job.stdout() + job.stderr()).not.toContain(nsec)
  expect(net.balanceMsat('customer')).toBe(before)
})
