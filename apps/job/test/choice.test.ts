// Several providers answer a broadcast request: 2020117-job collects offers for --offer-wait after
// the first acceptable one, pays the cheapest, once, and from then on hears only that provider.

import { afterAll, beforeAll, expect, test } from 'vitest'
import { killAll, spawnBin, startTestNetwork, type TestNetwork } from '@2020117/testkit'
import { startProvider, type TestProvider } from './helpers/provider.js'

let net: TestNetwork
let dear: TestProvider
let cheap: TestProvider

beforeAll(async () => {
  net = await startTestNetwork()
  dear = await startProvider(net, 5050)
  cheap = await startProvider(net, 5050)
})

afterAll(async () => {
  await killAll()
  await dear?.close()
  await cheap?.close()
  await net?.close()
})

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
