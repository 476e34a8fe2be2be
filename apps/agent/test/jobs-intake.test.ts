// Which requests the real agent takes (SPEC §10.3): p-tagged to others is left alone, a bid below
// the price gets BID_TOO_LOW only when addressed to us, expired requests are skipped (unit: jobs-decide.test.ts; the devnet relay refuses them), a restart
// re-handles nothing, and the subscription survives a relay restart. What the agent did not do is
// judged after a later request of the same customer was answered (events reach it in order), never
// after a sleep.

import { fileURLToPath } from 'node:url'
import { getPublicKey, generateSecretKey } from 'nostr-tools/pure'
import { afterAll, beforeAll, beforeEach, expect, onTestFailed, test } from 'vitest'
import { spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'
import { JobCustomer, type Posted } from './helpers/job-customer.js'

const TRANSLATE = fileURLToPath(new URL('../examples/translate.sh', import.meta.url))
const KEYS_AGENT = 'jobs-intake-agent'

let net: TestNetwork
let agent: Proc
let agentKey: string
let customer: JobCustomer

function startAgent(): Proc {
  return spawnBin(
    'agent',
    [net.flag, '--json', '--kind=5302', `--processor=exec:${TRANSLATE}`, '--job-price=2', '--no-sessions'],
    { env: { KEYS_AGENT } }
  )
}

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  agent = startAgent()
  agentKey = (await agent.json((v) => v.event === 'ready')).pubkey
  customer = new JobCustomer(net)
})
afterAll(() => customer?.close())
// When a test fails, what the agent said is the one place to see why it did not answer.
beforeEach(() => onTestFailed(() => console.log(agent.stderr().slice(-8000), agent.stdout().slice(-4000))))

let sentinels = 0

/** A request of ours the agent answers: once it has, everything published before it was seen. */
async function sentinel(c = customer): Promise<Posted> {
  const posted = await c.post({
    kind: 5302,
    inputs: [{ data: `yes ${++sentinels}`, type: 'text' }],
    params: { lang: 'es' },
    provider: agentKey
  })
  await c.status(posted, 'payment-required')
  return posted
}

async function paidJob(text: string): Promise<Posted> {
  const posted = await customer.post({
    kind: 5302,
    inputs: [{ data: text, type: 'text' }],
    params: { lang: 'fr' },
    provider: agentKey
  })
  await customer.pay(await customer.status(posted, 'payment-required'))
  await customer.status(posted, 'success')
  return posted
}

test('a request p-tagged only to another provider is left alone', async () => {
  const other = getPublicKey(generateSecretKey())
  const theirs = await customer.post({ kind: 5302, inputs: [{ data: 'hello', type: 'text' }], provider: other })
  await sentinel()
  expect(theirs.feedback).toEqual([])
})

test('a bid below the price: BID_TOO_LOW when addressed to us, silence when broadcast', async () => {
  const addressed = await customer.post({
    kind: 5302,
    inputs: [{ data: 'hi', type: 'text' }],
    bidMsat: 1999,
    provider: agentKey
  })
  const broadcast = await customer.post({ kind: 5302, inputs: [{ data: 'hi', type: 'text' }], bidMsat: 1999 })
  const error = await customer.status(addressed, 'error')
  expect(error.text).toMatch(/^BID_TOO_LOW: /)
  await sentinel()
  expect(broadcast.feedback).toEqual([])
  expect(addressed.feedback.map((f) => f.status)).toEqual(['error'])
})

test('a restart handles no request twice and charges nothing twice', async () => {
  const done = await paidJob('hello')
  const unpaid = await sentinel() // offered, never paid: in flight at the restart
  agent.kill('SIGTERM')
  await agent.exited
  const customerBefore = net.balanceMsat('customer')
  agent = startAgent()
  await agent.json((v) => v.event === 'ready')
  // A new job goes through: everything the relay held was read again by then.
  await paidJob('good morning')
  expect(done.results).toHaveLength(1)
  expect(done.feedback.map((f) => f.status)).toEqual(['payment-required', 'processing', 'success'])
  // The unpaid job resumed its wait with its own invoice: no second offer.
  expect(unpaid.feedback.filter((f) => f.status === 'payment-required')).toHaveLength(1)
  expect(net.balanceMsat('customer')).toBe(customerBefore - 2000)
})

test('the subscription survives a relay restart: a request published after it is answered', async () => {
  // The wallet talks through the relay: it goes down and comes back with it (as the devnet orders them).
  await net.stop('relay', 'wallet')
  const back = agent.line(/relay .* is back/, 'stderr', { fresh: true })
  await net.start('relay', 'wallet')
  await back
  const fresh = new JobCustomer(net)
  try {
    const posted = await fresh.post({
      kind: 5302,
      inputs: [{ data: 'cat', type: 'text' }],
      params: { lang: 'fr' },
      provider: agentKey
    })
    await fresh.pay(await fresh.status(posted, 'payment-required'))
    expect((await fresh.result(posted)).content.trim()).toBe('chat')
  } finally {
    fresh.close()
  }
})
