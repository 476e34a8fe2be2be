// Hostile customers against the real agent in job mode (issue 12 §4): the agent neither works
// unpaid nor crashes. A payment that never comes, a flood, a huge input, an undecryptable request,
// a stranger's deletion, and a cancellation after payment. Judged by the ledger and by what the
// customer received; every wait is on an event (an answer, a line), the agent's own deadline
// (--job-payment-seconds) included.

import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { encryptFor } from '@2020117/jobs'
import { spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'
import { JobCustomer, type Posted } from './helpers/job-customer.js'
import { Hold, HOLD_SCRIPT } from './helpers/hold.js'

const PRICE_MSAT = 2000

let net: TestNetwork
let agent: Proc
let agentKey: string
let customer: JobCustomer
let huge: Server
let hugeUrl: string
const hold = new Hold()

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  agent = spawnBin('agent', [
    net.flag,
    '--json',
    '--kind=5050',
    `--processor=exec:${HOLD_SCRIPT} ${hold.fifo}`,
    '--job-price=2',
    '--max-jobs=2',
    '--job-payment-seconds=5',
    '--no-sessions'
  ])
  agentKey = (await agent.json((v) => v.event === 'ready')).pubkey
  customer = new JobCustomer(net)
  huge = createServer((_req, res) => res.end(Buffer.alloc(2 * 1024 * 1024, 0x61)))
  huge.listen(0, '127.0.0.1')
  await once(huge, 'listening')
  hugeUrl = `http://127.0.0.1:${(huge.address() as { port: number }).port}/big.txt`
})
afterAll(() => {
  customer?.close()
  huge?.close()
})

const text = (data: string) => ({ kind: 5050, inputs: [{ data, type: 'text' as const }], provider: agentKey })

async function paid(posted: Posted): Promise<void> {
  await customer.pay(await customer.status(posted, 'payment-required'))
}

test('a payment that never comes: no work, PAYMENT_NOT_RECEIVED when the invoice expires, nothing charged', async () => {
  const before = net.balanceMsat('customer')
  const posted = await customer.post(text('never paid'))
  await customer.status(posted, 'payment-required')
  const error = await customer.status(posted, 'error')
  expect(error.text).toMatch(/^PAYMENT_NOT_RECEIVED: /)
  expect(posted.feedback.map((f) => f.status)).toEqual(['payment-required', 'error'])
  expect(posted.results).toEqual([])
  expect(net.balanceMsat('customer')).toBe(before)
})

test('a url input over the bound is refused before any invoice (INPUT_TOO_LARGE)', async () => {
  const posted = await customer.post({ kind: 5050, inputs: [{ data: hugeUrl, type: 'url' }], provider: agentKey })
  const error = await customer.status(posted, 'error')
  expect(error.text).toMatch(/^INPUT_TOO_LARGE: /)
  expect(posted.feedback.map((f) => f.status)).toEqual(['error'])
})

test('a request with more inputs than SPEC §10.2 allows is refused whole (INPUT_TOO_LARGE)', async () => {
  const tags = [...Array.from({ length: 9 }, (_, i) => ['i', `part ${i}`, 'text']), ['p', agentKey]]
  const event = finalizeEvent(
    { kind: 5050, created_at: Math.floor(Date.now() / 1000), tags, content: '' },
    customer.secretKey
  )
  const posted = await customer.publish(event)
  expect((await customer.status(posted, 'error')).text).toMatch(/^INPUT_TOO_LARGE: /)
})

test('an encrypted request the agent cannot decrypt is refused (UNDECRYPTABLE)', async () => {
  const stranger = getPublicKey(generateSecretKey())
  const content = encryptFor('nip44', customer.secretKey, stranger, JSON.stringify([['i', 'secret', 'text']]))
  const event = finalizeEvent(
    { kind: 5050, created_at: Math.floor(Date.now() / 1000), tags: [['p', agentKey], ['encrypted']], content },
    customer.secretKey
  )
  const posted = await customer.publish(event)
  expect((await customer.status(posted, 'error')).text).toMatch(/^UNDECRYPTABLE: /)
})

test("a stranger's deletion of a request is ignored: the job goes on and is delivered once paid", async () => {
  // Both mined before the request goes out: the payment window (5 s) is shorter than mining a kind 5.
  const stranger = generateSecretKey()
  const request = await customer.mine(text('not yours to cancel'))
  const deletion = await customer.deletion(request, stranger)
  const posted = await customer.publish(request)
  const offer = await customer.status(posted, 'payment-required')
  await customer.send(deletion, stranger)
  await customer.pay(offer)
  expect((await customer.result(posted)).content).toBe('not yours to cancel')
})

test("the author's cancellation before payment stops the wait: no work, no error spam, nothing charged", async () => {
  const before = net.balanceMsat('customer')
  const request = await customer.mine(text('cancel me'))
  const deletion = await customer.deletion(request)
  const posted = await customer.publish(request)
  await customer.status(posted, 'payment-required')
  const ended = agent.json((v) => v.event === 'job_failed' && v.request_id === posted.event.id)
  await customer.send(deletion)
  expect((await ended).reason).toBe('CANCELLED')
  expect(posted.feedback.map((f) => f.status)).toEqual(['payment-required'])
  expect(net.balanceMsat('customer')).toBe(before)
})

test('a cancellation after payment neither refunds nor crashes: the job is delivered, charged once', async () => {
  const before = net.balanceMsat('customer')
  hold.arm()
  const posted = await customer.post(text('paid then cancelled'))
  await paid(posted)
  await customer.status(posted, 'processing')
  const noted = agent.line(/cancelled after it was paid: delivering it/, 'stderr', { fresh: true })
  await customer.cancel(posted)
  await noted
  await hold.release()
  expect((await customer.result(posted)).content).toBe('paid then cancelled')
  await customer.status(posted, 'success')
  expect(net.balanceMsat('customer')).toBe(before - PRICE_MSAT)
})

test('a flood of requests holds at most --max-jobs invoices, refuses the rest within a bound, and the agent serves on', async () => {
  const flood: Posted[] = []
  for (let i = 0; i < 30; i++) flood.push(await customer.post(text(`flood ${i}`)))
  // The two that got invoices end unpaid at the agent's deadline; the agent is free again then.
  await customer.until(
    () => flood.filter((p) => p.feedback.some((f) => f.text.startsWith('PAYMENT_NOT_RECEIVED'))).length === 2,
    'the two flood invoices to expire'
  )
  const offers = flood.flatMap((p) => p.feedback.filter((f) => f.status === 'payment-required'))
  expect(offers).toHaveLength(2)
  const refusals = flood.flatMap((p) => p.feedback.filter((f) => f.text.startsWith('NO_CAPACITY')))
  expect(refusals.length).toBeGreaterThan(0)
  expect(refusals.length).toBeLessThanOrEqual(20)
  const after = await customer.post(text('still serving'))
  await paid(after)
  expect((await customer.result(after)).content).toBe('still serving')
  expect(agent.child.exitCode).toBe(null)
})
