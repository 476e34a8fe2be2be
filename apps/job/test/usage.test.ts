// 2020117-job's flags: --help documents the exit statuses, and what would go wrong before anything
// is sent is refused as a usage error (exit 2) without a request published or a secret echoed.

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { nip19 } from 'nostr-tools'
import { tempDir } from './helpers/temp.js'

const net = await startTestNetwork({ teardown: afterAll })

test('--help shows the flags, the exit statuses and examples, and exits 0', async () => {
  const help = spawnBin('job', ['--help'])
  expect(await help.exited).toBe(0)
  for (const flag of ['--kind', '--input', '--input-type', '--param', '--bid', '--provider', '--encrypt', '--timeout'])
    expect(help.stdout()).toContain(flag)
  for (const flag of ['--output', '--offer-wait', '--max-fee', '--nwc', '--relays', '--devnet', '--json'])
    expect(help.stdout()).toContain(flag)
  for (const flag of ['--min-score', '--allow-flagged', '--min-zap-sats', '--review'])
    expect(help.stdout()).toContain(flag)
  expect(help.stdout()).toMatch(/the price divided by 1 \+ score\/100 is compared/)
  expect(help.stdout()).toMatch(/unrated: ranked after every rated one, refused with --min-score above 0/)
  expect(help.stdout()).toMatch(/Exit status: 0 paid \(or free\) and delivered; 1 an error before the job/)
  expect(help.stdout()).toMatch(/Examples:\n {2}2020117-job --devnet/)
})

const refusals: Array<{ why: string; args: string[]; message: RegExp }> = [
  { why: 'no --kind', args: ['--input=x', '--bid=10'], message: /MISSING_FLAG: --kind is required/ },
  { why: 'no --input', args: ['--kind=5050', '--bid=10'], message: /MISSING_FLAG: --input is required/ },
  { why: 'no --bid', args: ['--kind=5050', '--input=x'], message: /MISSING_FLAG: --bid is required/ },
  { why: 'not a job kind', args: ['--kind=4999', '--input=x', '--bid=10'], message: /--kind must be at least 5000/ },
  {
    why: '--encrypt without --provider',
    args: ['--kind=5050', '--input=x', '--bid=10', '--encrypt'],
    message: /--encrypt needs --provider/
  },
  {
    why: 'a fee reserve that leaves nothing of the bid',
    args: ['--kind=5050', '--input=x', '--bid=2', '--max-fee=2'],
    message: /--max-fee \(2 sats\) leaves nothing/
  },
  {
    why: 'a param without a value',
    args: ['--kind=5050', '--input=x', '--bid=10', '--param=novalue'],
    message: /--param must be name=value/
  },
  {
    why: 'an input over the 64 KiB bound',
    args: ['--kind=5050', `--input=${'x'.repeat(70_000)}`, '--bid=10'],
    message: /the request cannot be sent: the input, in bytes is over/
  },
  {
    why: 'min_zap_sats as a bare --param (asked, never checked)',
    args: ['--kind=5050', '--input=x', '--bid=10', '--param=min_zap_sats=5'],
    message: /--param min_zap_sats is set with --min-zap-sats, which also enforces it/
  },
  {
    why: 'a review rating outside 1-5',
    args: ['--kind=5050', '--input=x', '--bid=10', '--review=6:great'],
    message: /--review must be RATING\[:TEXT\] with a rating of 1 to 5/
  },
  {
    why: 'a review that is no rating',
    args: ['--kind=5050', '--input=x', '--bid=10', '--review=great'],
    message: /--review must be RATING\[:TEXT\]/
  },
  {
    why: 'a review text over its bound',
    args: ['--kind=5050', '--input=x', '--bid=10', `--review=3:${'y'.repeat(2001)}`],
    message: /--review text is 2001 bytes, over the 2000 byte bound/
  },
  {
    why: 'a job input that is no event id',
    args: ['--kind=5050', '--input=x', '--bid=10', '--input-type=job'],
    message: /--input must be an event id \(64 hex digits\) with --input-type=job/
  }
]

test.each(refusals)('refused before anything is sent: $why', async ({ args, message }) => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [net.flag, ...args])
  expect(await job.exited).toBe(2)
  expect(job.stderr()).toMatch(message)
  expect(net.balanceMsat('customer')).toBe(before)
})

test('our own private key given as --provider is refused, and never printed', async () => {
  const dir = await tempDir('job-keys-')
  const secretKey = generateSecretKey()
  const privkey = Buffer.from(secretKey).toString('hex')
  await writeFile(join(dir, 'keys.json'), JSON.stringify({ me: { privkey, pubkey: getPublicKey(secretKey) } }), {
    mode: 0o600
  })
  const job = spawnBin('job', [
    net.flag,
    `--keys-file=${join(dir, 'keys.json')}`,
    '--agent=me',
    '--kind=5050',
    '--input=x',
    '--bid=10',
    `--provider=${privkey}`,
    '--json'
  ])
  expect(await job.exited).toBe(2)
  expect(job.stderr()).toMatch(/PRIVATE_KEY_GIVEN/)
  const printed = job.stdout() + job.stderr()
  expect(printed).not.toContain(privkey)
  expect(printed).not.toContain(nip19.nsecEncode(secretKey))
  // The nsec spelling of it is no pubkey either, and is not echoed in the refusal.
  const nsec = nip19.nsecEncode(secretKey)
  const again = spawnBin('job', [
    net.flag,
    `--keys-file=${join(dir, 'keys.json')}`,
    '--agent=me',
    '--kind=5050',
    '--input=x',
    '--bid=10',
    `--provider=${nsec}`
  ])
  expect(await again.exited).toBeGreaterThan(0)
  expect(again.stdout() + again.stderr()).not.toContain(nsec)
})

test("the wallet's NWC secret and our key never reach stdout or stderr, even at trace level", async () => {
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=x',
    '--bid=10',
    '--timeout=1',
    '--log-level=trace',
    '--json'
  ])
  expect(await job.exited).toBe(3)
  const secret = /secret=([0-9a-f]{64})/.exec(net.devnet.state.accounts.customer!.nwc_uri)![1]!
  const printed = job.stdout() + job.stderr()
  expect(printed).toContain('no_offer')
  expect(printed).not.toContain(secret)
  expect(printed).not.toMatch(/nsec1/)
})

test('no relay takes the request: exit 1 (not_published), nothing paid, the summary says so', async () => {
  const before = net.balanceMsat('customer')
  // The devnet's wallet, and a relay address where nothing listens.
  const job = spawnBin('job', [net.flag, '--relays=ws://127.0.0.1:9', '--kind=5050', '--input=x', '--bid=10', '--json'])
  const summary = await job.json()
  expect(await job.exited).toBe(1)
  expect(summary).toMatchObject({ status: 'not_published', msat_paid: 0, reason: 'NOT_PUBLISHED' })
  expect(net.balanceMsat('customer')).toBe(before)
})
