// A hostile review of 2020117-job, with strangers answering a broadcast request: invoices built
// field by field to break the reader, against the real bin, judged by the wallet ledger.

import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { buildFeedback } from '@2020117/jobs'
import { rawInvoice, spawnBin, startTestNetwork, words, type TestNetwork } from '@2020117/testkit'
import { generateSecretKey } from 'nostr-tools/pure'
import { startProvider, type TestProvider } from './helpers/provider.js'

let net: TestNetwork
let provider: TestProvider

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  provider = await startProvider(net, 5050)
})

afterAll(async () => {
  await provider?.close()
})

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
