// 2020117-job buys a job from an honest provider on the local network: the request it publishes,
// the one payment, the result on stdout and in the --json summary, and the ledger that agrees.

import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5050, { teardown: afterAll })

test('a paid job: one payment of the offered price, the result in the summary, the ledger equal to it', async () => {
  const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=write a haiku',
    '--param=model=tiny',
    '--bid=10',
    '--offer-wait=0',
    '--timeout=30',
    '--json'
  ])
  const request = await provider.nextRequest()
  expect(request.inputs).toEqual([{ data: 'write a haiku', type: 'text' }])
  expect(request.params).toEqual({ model: 'tiny' })
  expect(request.bidMsat).toBe(9000) // the bid less the 1 sat fee reserve
  expect(request.relays).toEqual([net.devnet.relay.url])
  const invoice = await provider.offer(request, 7000)
  // A second invoice for the same job, after the first: never paid.
  await provider.paid(invoice)
  await provider.offer(request, 7000)
  await provider.deliver(request, 'relays hum at dusk')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({
    request_id: request.id,
    provider: provider.npub,
    msat_paid: 7000,
    fees_msat: 0,
    status: 'delivered',
    result: 'relays hum at dusk'
  })
  expect(summary.timings.first_offer_ms).toBeTypeOf('number')
  expect(summary.timings.payment_ms).toBeTypeOf('number')
  expect(summary.timings.result_ms).toBeTypeOf('number')
  expect(before.customer - net.balanceMsat('customer')).toBe(summary.msat_paid)
  expect(net.balanceMsat('provider') - before.provider).toBe(summary.msat_paid)
})

test('without --json the result text is stdout alone, the summary on stderr', async () => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [net.flag, '--kind=5050', '--input=hi', '--bid=10', '--offer-wait=0', '--timeout=30'])
  const request = await provider.nextRequest()
  const invoice = await provider.offer(request, 3000)
  await provider.paid(invoice)
  await provider.deliver(request, 'hello back')
  expect(await job.exited, job.stderr()).toBe(0)
  expect(job.stdout()).toBe('hello back')
  expect(job.stderr()).toMatch(/job delivered/)
  expect(before - net.balanceMsat('customer')).toBe(3000)
})

test('one identity, the same job twice at once: two requests, each paid and delivered once', async () => {
  const before = net.balanceMsat('customer')
  // The same flags, so the same tags and, within one second, the same created_at: only what the
  // customer does about it keeps the second request from being the first one again (one id).
  const args = [
    net.flag,
    '--agent=twin',
    '--kind=5050',
    '--input=twice',
    '--bid=10',
    '--offer-wait=0',
    '--timeout=30',
    '--json'
  ]
  const jobs = [spawnBin('job', args), spawnBin('job', args)]
  const requests = [await provider.nextRequest(), await provider.nextRequest()]
  expect(requests[0]!.customer).toBe(requests[1]!.customer)
  expect(requests[0]!.id).not.toBe(requests[1]!.id)
  for (const [i, request] of requests.entries()) {
    await provider.paid(await provider.offer(request, 3000))
    await provider.deliver(request, `answer ${i}`)
  }
  const summaries = await Promise.all(jobs.map((j) => j.json()))
  for (const j of jobs) expect(await j.exited, j.stderr()).toBe(0)
  expect(summaries.map((s) => s.request_id).sort()).toEqual(requests.map((r) => r.id).sort())
  expect(summaries.map((s) => s.result).sort()).toEqual(['answer 0', 'answer 1'])
  expect(summaries.map((s) => s.msat_paid)).toEqual([3000, 3000])
  expect(before - net.balanceMsat('customer')).toBe(6000)
})
