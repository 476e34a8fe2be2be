// Several providers answer a broadcast request: 2020117-job collects offers for --offer-wait after
// the first acceptable one, pays the cheapest, once, and from then on hears only that provider.

import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const dear = await startProvider(net, 5050, { teardown: afterAll })
const cheap = await startProvider(net, 5050, { teardown: afterAll })

test('the cheapest offer within the bid is paid; the dearer provider is never paid and its result ignored', async () => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=who is cheapest',
    '--bid=10',
    '--offer-wait=2',
    '--timeout=30',
    '--json'
  ])
  const [forDear, forCheap] = await Promise.all([dear.nextRequest(), cheap.nextRequest()])
  expect(forDear.id).toBe(forCheap.id)
  const dearInvoice = await dear.offer(forDear, 6000)
  const cheapInvoice = await cheap.offer(forCheap, 4000)
  await cheap.paid(cheapInvoice)
  await dear.deliver(forDear, 'from the dear one')
  await cheap.deliver(forCheap, 'from the cheap one')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({ provider: cheap.npub, msat_paid: 4000, result: 'from the cheap one' })
  expect(before - net.balanceMsat('customer')).toBe(4000)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: dearInvoice.paymentHash }).state).not.toBe(
    'settled'
  )
})

test("a liar's refused offer does not end a broadcast run: the honest provider is paid", async () => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=one of you lies',
    '--bid=10',
    '--offer-wait=1',
    '--timeout=30',
    '--json'
  ])
  const [forLiar, forHonest] = await Promise.all([dear.nextRequest(), cheap.nextRequest()])
  // The liar's amount tag says 1 sat, its invoice asks 8.
  await dear.offer(forLiar, 8000, { invoice: await dear.invoice(8000), tagMsat: 1000 })
  await job.line(/refused an invoice .*JOB_AMOUNT_TAG_MISMATCH/)
  const invoice = await cheap.offer(forHonest, 5000)
  await cheap.paid(invoice)
  await cheap.deliver(forHonest, 'honest work')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({
    provider: cheap.npub,
    msat_paid: 5000,
    result: 'honest work',
    refused_reason: 'JOB_AMOUNT_TAG_MISMATCH'
  })
  expect(before - net.balanceMsat('customer')).toBe(5000)
})

test('only refused offers until --timeout (no --provider): exit 5 with the reason', async () => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [net.flag, '--kind=5050', '--input=liars only', '--bid=10', '--timeout=3', '--json'])
  const [forLiar] = await Promise.all([dear.nextRequest(), cheap.nextRequest()])
  await dear.offer(forLiar, 8000, { invoice: await dear.invoice(8000), tagMsat: 1000 })
  const summary = await job.json()
  expect(await job.exited).toBe(5)
  expect(summary).toMatchObject({ status: 'offer_refused', msat_paid: 0, refused_reason: 'JOB_AMOUNT_TAG_MISMATCH' })
  expect(net.balanceMsat('customer')).toBe(before)
})
