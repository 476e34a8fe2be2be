// A hostile review of 2020117-job while a payment is in flight (the wallet is down, so pay_invoice
// gets no answer until --timeout): what the person at the keyboard and strangers on the relay can
// do to the run then. Judged by the wallet ledger and the summary; synchronised on printed lines.

import { afterAll, expect, test } from 'vitest'
import { buildResult } from '@2020117/jobs'
import { npubOf } from '@2020117/nostr'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5050, { teardown: afterAll })

/** A run whose payment hangs: the offer's invoice is made, then the wallet stops before it is paid. */
async function hangingPayment(extra: string[] = []) {
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=pay into the void',
    '--bid=10',
    `--provider=${provider.npub}`,
    '--timeout=6',
    '--json',
    ...extra
  ])
  const request = await provider.nextRequest()
  const invoice = await provider.invoice(4000)
  await net.stop('wallet')
  await provider.offer(request, 4000, { invoice })
  await job.line(/paying 4000 msat/)
  return { job, request, invoice }
}

test('a second Ctrl-C while a payment is in flight does not kill the run: the summary still comes, no kind 5', async () => {
  const before = net.balanceMsat('customer')
  const { job, request, invoice } = await hangingPayment()
  job.kill('SIGINT')
  await job.line(/interrupted while a payment is under way/)
  job.kill('SIGINT') // the impatient second Ctrl-C
  const summary = await job.json()
  expect(await job.exited).toBe(8)
  expect(summary).toMatchObject({ status: 'payment_failed', msat_paid: 0, msat_pending: 4000 })
  await net.start('wallet')
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
  expect(await provider.pool.query({ kinds: [5], '#e': [request.id] }, 2000)).toEqual([])
})

test("strangers' events during a payment in flight are dropped as they come, not queued behind it (memory)", async () => {
  const before = net.balanceMsat('customer')
  const { job, request } = await hangingPayment(['--log-level=debug'])
  // Anyone can sign answers to our request id, as many as the relay takes, while the pay waits.
  const stranger = generateSecretKey()
  for (let i = 0; i < 20; i++)
    await provider.publish(buildResult(request, { content: `junk ${i} ${'x'.repeat(30_000)}` }, stranger))
  await job.line(new RegExp(`ignored a result from ${npubOf(getPublicKey(stranger))}`))
  const summary = await job.json()
  expect(await job.exited).toBe(8)
  expect(summary).toMatchObject({ status: 'payment_failed', msat_paid: 0, msat_pending: 4000 })
  await net.start('wallet')
  expect(net.balanceMsat('customer')).toBe(before)
})
