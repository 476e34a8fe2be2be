// A hostile review of 2020117-job, with strangers answering a broadcast request: invoices built
// field by field to break the reader, against the real bin, judged by the wallet ledger.

import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { buildFeedback } from '@2020117/jobs'
import { rawInvoice, spawnBin, startTestNetwork, words } from '@2020117/testkit'
import { generateSecretKey } from 'nostr-tools/pure'
import { tempDir } from './helpers/temp.js'
import { startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5050, { teardown: afterAll })

/** A broadcast run: any stranger may offer. */
function broadcast(input: string) {
  return spawnBin('job', [
    net.flag,
    '--kind=5050',
    `--input=${input}`,
    '--bid=10',
    '--offer-wait=1',
    '--timeout=30',
    '--json'
  ])
}

/** A signed regtest invoice for 4000 msat whose route hint (`r`) is cut short of one 51-byte hop. */
function truncatedHintInvoice(): string {
  return rawInvoice(
    [
      [1, words.hex(randomBytes(32).toString('hex'))],
      [16, words.hex(randomBytes(32).toString('hex'))],
      [13, words.text('a hint cut short')],
      [6, words.int(600)],
      [3, words.hex(randomBytes(40).toString('hex'))]
    ],
    { hrp: 'lnbcrt40n', timestamp: Math.floor(Date.now() / 1000) }
  )
}

test("a stranger's invoice with a route hint cut short is refused; it does not end the run, the honest offer is paid", async () => {
  const before = net.balanceMsat('customer')
  const job = broadcast('hint me')
  const request = await provider.nextRequest()
  const stranger = generateSecretKey()
  const bait = buildFeedback(
    request,
    { status: 'payment-required', amountMsat: 4000, bolt11: truncatedHintInvoice() },
    stranger
  )
  await provider.publish(bait)
  await job.line(/refused an invoice .*INVOICE_INVALID/)
  const invoice = await provider.offer(request, 5000)
  await provider.paid(invoice)
  await provider.deliver(request, 'honest work')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({
    status: 'delivered',
    msat_paid: 5000,
    provider: provider.npub,
    result: 'honest work'
  })
  expect(before - net.balanceMsat('customer')).toBe(5000)
})

test('the record of paid hashes turned unreadable during the run: the offer is not paid (no guard, no payment)', async () => {
  const dir = await tempDir('job-record-')
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=guarded',
    '--bid=10',
    `--provider=${provider.npub}`,
    `--keys-file=${join(dir, 'keys')}`,
    '--agent=me',
    '--timeout=30',
    '--json'
  ])
  const request = await provider.nextRequest()
  // Root may write anywhere: a directory where the record should be is what no one can read as one.
  await mkdir(join(dir, '.2020117_paid_me.json'))
  const invoice = await provider.offer(request, 4000)
  const summary = await job.json()
  expect(await job.exited).toBe(1)
  expect(summary).toMatchObject({ status: 'internal_error', msat_paid: 0, reason: 'STATE_FILE_INVALID' })
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
})
