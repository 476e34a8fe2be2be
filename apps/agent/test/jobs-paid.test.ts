// Job mode end to end (SPEC §10.3): the real 2020117-agent with the shipped exec example, a
// customer written with @2020117/jobs on the local relay, paying from the devnet wallet. Judged by
// the ledger: the customer's debit and the provider's credit are the price, once.

import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'
import { OPEN_POLICY, startRelay } from '@2020117/relay'
import { RelayPool } from '@2020117/nostr'
import { JobCustomer } from './helpers/job-customer.js'

const TRANSLATE = fileURLToPath(new URL('../examples/translate.sh', import.meta.url))
const PRICE_SATS = 3

let net: TestNetwork
let agent: Proc
let agentKey: string
let customer: JobCustomer
let providerAtStart: number

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  providerAtStart = net.balanceMsat('provider')
  agent = spawnBin('agent', [
    net.flag,
    '--json',
    '--kind=5302',
    `--processor=exec:${TRANSLATE}`,
    `--job-price=${PRICE_SATS}`
  ])
  agentKey = (await agent.json((v) => v.event === 'ready')).pubkey
  customer = new JobCustomer(net)
})
afterAll(() => customer?.close())

test('a p-tagged job is paid first, worked, answered with its result and success, and the ledger moves by the price once', async () => {
  const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
  const posted = await customer.post({
    kind: 5302,
    inputs: [{ data: 'hello world', type: 'text' }],
    params: { lang: 'fr' },
    bidMsat: 10_000,
    provider: agentKey
  })
  const offer = await customer.status(posted, 'payment-required')
  expect(offer.amountMsat).toBe(PRICE_SATS * 1000)
  expect(posted.results).toEqual([]) // no work before the payment
  await customer.pay(offer)
  const result = await customer.result(posted)
  expect(result.content.trim()).toBe('bonjour monde')
  expect(result.amountMsat).toBe(PRICE_SATS * 1000)
  expect(result.event.tags.find((t) => t[0] === 'i')?.[1]).toBe('hello world')
  await customer.status(posted, 'success')
  expect(posted.feedback.map((f) => f.status)).toEqual(['payment-required', 'processing', 'success'])
  expect(net.balanceMsat('customer')).toBe(before.customer - PRICE_SATS * 1000)
  expect(net.balanceMsat('provider')).toBe(before.provider + PRICE_SATS * 1000)
  expect(posted.refused).toEqual([])
})

test('a broadcast job (no p tag) is taken too', async () => {
  const posted = await customer.post({
    kind: 5302,
    inputs: [{ data: 'good night', type: 'text' }],
    params: { lang: 'de' }
  })
  const offer = await customer.status(posted, 'payment-required')
  expect(offer.provider).toBe(agentKey)
  await customer.pay(offer)
  expect((await customer.result(posted)).content.trim()).toBe('gut Nacht')
})

test('a processor that fails is an error feedback naming PROCESSOR_FAILED with its stderr tail, after payment', async () => {
  const posted = await customer.post({ kind: 5302, inputs: [{ data: 'hello', type: 'text' }], provider: agentKey })
  await customer.pay(await customer.status(posted, 'payment-required'))
  const error = await customer.status(posted, 'error')
  expect(error.text).toMatch(/^PROCESSOR_FAILED: .*lang/)
  expect(posted.results).toEqual([])
})

test("chaining: a job whose input is another job waits for that job's result, then is offered and worked on it", async () => {
  const first = await customer.post({
    kind: 5302,
    inputs: [{ data: 'cat dog', type: 'text' }],
    params: { lang: 'fr' },
    provider: agentKey
  })
  const firstOffer = await customer.status(first, 'payment-required')
  const chained = await customer.post({
    kind: 5302,
    inputs: [{ data: first.event.id, type: 'job' }],
    params: { lang: 'fr' },
    provider: agentKey
  })
  await customer.pay(firstOffer)
  await customer.status(first, 'success')
  // The chained job is offered only once its input exists: the first job's result.
  await customer.pay(await customer.status(chained, 'payment-required'))
  expect((await customer.result(chained)).content.trim()).toBe('chat chien')
})

test('the answers also go to the relays the request names (its `relays` tag), not only to ours', async () => {
  const theirs = await startRelay({ policy: OPEN_POLICY })
  const elsewhere = new RelayPool([theirs.url])
  try {
    const posted = await customer.post({
      kind: 5302,
      inputs: [{ data: 'yes', type: 'text' }],
      params: { lang: 'fr' },
      relays: [theirs.url],
      provider: agentKey
    })
    await customer.pay(await customer.status(posted, 'payment-required'))
    await customer.status(posted, 'success')
    // The customer's own relay never had the request: the answers there came from the agent.
    const there = await elsewhere.query({ '#e': [posted.event.id] })
    expect(there.map((e) => e.kind).sort()).toEqual([6302, 7000, 7000, 7000])
    expect(there.every((e) => e.pubkey === agentKey)).toBe(true)
  } finally {
    elsewhere.close()
    await theirs.close()
  }
})

// Last in this file: it stops the agent.
test("on SIGTERM the summary and the last log line count the jobs, and the jobs' msat are the provider's ledger credit", async () => {
  const refused = await customer.post({
    kind: 5302,
    inputs: [{ data: 'hi', type: 'text' }],
    bidMsat: 1000,
    provider: agentKey
  })
  expect((await customer.status(refused, 'error')).text).toMatch(/^BID_TOO_LOW: /)
  const summary = agent.json((v) => v.event === 'summary')
  agent.kill('SIGTERM')
  const s = await summary
  const credit = net.balanceMsat('provider') - providerAtStart
  expect(credit).toBeGreaterThan(0)
  expect(s.job_msat_earned).toBe(credit)
  // Every job above was paid: the delivered ones and the one whose processor failed after payment.
  expect((s.jobs_delivered + s.jobs_failed) * PRICE_SATS * 1000).toBe(credit)
  expect(s.jobs_failed).toBeGreaterThanOrEqual(1)
  expect(s.jobs_refused).toBeGreaterThanOrEqual(1)
  expect(s.jobs_cancelled).toBe(0)
  expect(await agent.exited).toBe(0)
  expect(agent.stderr()).toMatch(
    new RegExp(
      `stopped: jobs: ${s.jobs_delivered} delivered, ${s.jobs_refused} refused, ${s.jobs_failed} failed, 0 cancelled, ${credit} msat earned`
    )
  )
})
