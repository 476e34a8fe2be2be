// The journal of jobs in flight (src/jobs/store.ts): the agent killed with SIGKILL mid-job neither
// handles the request again nor charges again, and a job paid before the crash is still delivered
// after the restart. The processor is held on a fifo the test controls (helpers/hold.ts), so the
// kill lands after the payment and before the result, without a sleep.

import { afterAll, beforeAll, expect, onTestFailed, test } from 'vitest'
import { spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'
import { JobCustomer } from './helpers/job-customer.js'
import { Hold, HOLD_SCRIPT } from './helpers/hold.js'

const KEYS_AGENT = 'jobs-journal-agent'
let net: TestNetwork
let agent: Proc
let agentKey: string
let customer: JobCustomer
const hold = new Hold()

function startAgent(): Proc {
  return spawnBin(
    'agent',
    [
      net.flag,
      '--json',
      '--kind=5050',
      `--processor=exec:${HOLD_SCRIPT} ${hold.fifo}`,
      '--job-price=5',
      '--no-sessions'
    ],
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

async function crashAndRestart(): Promise<void> {
  agent.kill('SIGKILL')
  await agent.exited
  agent = startAgent()
  await agent.json((v) => v.event === 'ready')
}

test('killed after the payment and before the result: after the restart the job is delivered once, charged once', async () => {
  onTestFailed(() => console.log(agent.stderr().slice(-3000), agent.stdout().slice(-3000)))
  const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
  hold.arm()
  const posted = await customer.post({
    kind: 5050,
    inputs: [{ data: 'survive a crash', type: 'text' }],
    provider: agentKey
  })
  await customer.pay(await customer.status(posted, 'payment-required'))
  await agent.json((v) => v.event === 'job_working' && v.request_id === posted.event.id)
  agent.kill('SIGKILL')
  await agent.exited
  await hold.abandon() // a processor the dead agent left behind (if it got that far) reads its line and exits
  agent = startAgent()
  await agent.json((v) => v.event === 'ready')
  expect((await customer.result(posted)).content).toBe('survive a crash')
  await customer.status(posted, 'success')
  expect(posted.results).toHaveLength(1)
  expect(posted.feedback.filter((f) => f.status === 'payment-required')).toHaveLength(1)
  expect(net.balanceMsat('customer')).toBe(before.customer - 5000)
  expect(net.balanceMsat('provider')).toBe(before.provider + 5000)
})

test('killed while waiting for the payment, paid while down: the restart finds the payment and delivers', async () => {
  const before = net.balanceMsat('customer')
  const posted = await customer.post({
    kind: 5050,
    inputs: [{ data: 'paid while down', type: 'text' }],
    provider: agentKey
  })
  const offer = await customer.status(posted, 'payment-required')
  agent.kill('SIGKILL')
  await agent.exited
  await customer.pay(offer)
  agent = startAgent()
  expect((await customer.result(posted)).content).toBe('paid while down')
  await customer.status(posted, 'success')
  expect(posted.feedback.filter((f) => f.status === 'payment-required')).toHaveLength(1)
  expect(net.balanceMsat('customer')).toBe(before - 5000)
})

test('a delivered job is not handled again after a crash: a later job is the only new work', async () => {
  const first = await customer.post({ kind: 5050, inputs: [{ data: 'once', type: 'text' }], provider: agentKey })
  await customer.pay(await customer.status(first, 'payment-required'))
  await customer.status(first, 'success')
  await crashAndRestart()
  const before = net.balanceMsat('customer')
  const later = await customer.post({ kind: 5050, inputs: [{ data: 'later', type: 'text' }], provider: agentKey })
  await customer.pay(await customer.status(later, 'payment-required'))
  await customer.status(later, 'success')
  expect(first.feedback.map((f) => f.status)).toEqual(['payment-required', 'processing', 'success'])
  expect(first.results).toHaveLength(1)
  expect(net.balanceMsat('customer')).toBe(before - 5000)
})
