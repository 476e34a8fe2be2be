// Every way a 2020117-job run ends, with its exit status, its summary, and the ledger equal to the
// summary's msat_paid: nobody offered, paid and nothing came, the provider failed, Ctrl-C before
// paying (a kind 5 cancellation on the relay) and after, pay-after, chaining, encryption, --output.

import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { buildFeedback } from '@2020117/jobs'
import { committedPowBits } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { tempDir } from './helpers/temp.js'
import { startProvider } from './helpers/provider.js'

// Deletions cost 12 bits on this relay: the cancellation goes through the same mining as under the
// network's 20, in a fraction of the time.
const net = await startTestNetwork({
  teardown: afterAll,
  relayPolicy: { pow: [{ kinds: [5], bits: 12 }], eventsPerSecond: 10_000 }
})
const provider = await startProvider(net, 5050, { teardown: afterAll })

function buy(extra: string[], opts: { cwd?: string } = {}) {
  return spawnBin('job', [net.flag, '--kind=5050', '--bid=10', `--provider=${provider.npub}`, '--json', ...extra], opts)
}

function debit(): () => number {
  const before = net.balanceMsat('customer')
  return () => before - net.balanceMsat('customer')
}

test('no offer before --timeout: exit 3, nothing paid', async () => {
  const paid = debit()
  const job = buy(['--input=anyone?', '--timeout=2'])
  await provider.nextRequest() // seen, never answered
  const summary = await job.json()
  expect(await job.exited).toBe(3)
  expect(summary).toMatchObject({ status: 'no_offer', msat_paid: 0, provider: null })
  expect(paid()).toBe(0)
})

test("--provider's BID_TOO_LOW is its answer to the price: no offer within the bid, exit 3", async () => {
  const job = buy(['--input=cheap please', '--timeout=30'])
  const request = await provider.nextRequest()
  const text = 'BID_TOO_LOW: the price is 20 sats'
  await provider.publish(buildFeedback(request, { status: 'error', text }, provider.secretKey))
  const summary = await job.json()
  expect(await job.exited).toBe(3)
  expect(summary).toMatchObject({ status: 'no_offer', msat_paid: 0 })
})

test('paid, then no result before --timeout: exit 4, the summary says paid', async () => {
  const paid = debit()
  const job = buy(['--input=slow', '--timeout=4'])
  const request = await provider.nextRequest()
  await provider.paid(await provider.offer(request, 6000))
  const summary = await job.json()
  expect(await job.exited).toBe(4)
  expect(summary).toMatchObject({ status: 'no_result', msat_paid: 6000, provider: provider.npub })
  expect(summary.timings.payment_ms).toBeTypeOf('number')
  expect(paid()).toBe(summary.msat_paid)
})

test('the paid provider reports an error: exit 7, the payment in the summary', async () => {
  const paid = debit()
  const job = buy(['--input=fail please', '--timeout=30'])
  const request = await provider.nextRequest()
  await provider.paid(await provider.offer(request, 2000))
  await provider.publish(
    buildFeedback(request, { status: 'error', text: 'PROCESSOR_FAILED: \u001b[2Jboom' }, provider.secretKey)
  )
  const summary = await job.json()
  expect(await job.exited).toBe(7)
  expect(summary).toMatchObject({ status: 'provider_failed', msat_paid: 2000, reason: 'PROVIDER_FAILED' })
  expect(summary.message).toContain('PROCESSOR_FAILED: [2Jboom') // the escape stripped
  expect(paid()).toBe(2000)
})

test('Ctrl-C before paying publishes a kind 5 deletion of the request (on the relay) and exits 6', async () => {
  const paid = debit()
  const job = buy(['--input=never mind', '--timeout=30'])
  const request = await provider.nextRequest()
  job.kill('SIGINT')
  const summary = await job.json()
  expect(await job.exited).toBe(6)
  expect(summary).toMatchObject({ status: 'cancelled', msat_paid: 0 })
  const deletions = await provider.pool.query({ kinds: [5], '#e': [request.id] }, 2000)
  // Mined to the relay's price for deletions (12 bits here, 20 under the network's policy): a nonce tag besides.
  expect(deletions.map((d) => [d.pubkey, d.tags.filter((t) => t[0] !== 'nonce')])).toEqual([
    [
      request.customer,
      [
        ['e', request.id],
        ['k', '5050']
      ]
    ]
  ])
  expect(committedPowBits(deletions[0]!)).toBeGreaterThanOrEqual(12)
  // The relay applied it: the request itself is gone.
  expect(await provider.pool.query({ ids: [request.id] }, 2000)).toEqual([])
  expect(paid()).toBe(0)
}, 60_000)

test('Ctrl-C after paying cancels nothing: exit 4, paid, no deletion', async () => {
  const paid = debit()
  const job = buy(['--input=paid then quit', '--timeout=30'])
  const request = await provider.nextRequest()
  await provider.paid(await provider.offer(request, 1000))
  await job.line(/paid 1000 msat/)
  job.kill('SIGINT')
  const summary = await job.json()
  expect(await job.exited).toBe(4)
  expect(summary).toMatchObject({ status: 'no_result', msat_paid: 1000 })
  expect(await provider.pool.query({ kinds: [5], '#e': [request.id] }, 2000)).toEqual([])
  expect(paid()).toBe(1000)
})

test('pay after: a result carrying its invoice is checked, paid once, and delivered', async () => {
  const paid = debit()
  const job = buy(['--input=work first', '--timeout=30'])
  const request = await provider.nextRequest()
  const invoice = await provider.invoice(3000)
  await provider.deliver(request, 'done first', { amountMsat: 3000, bolt11: invoice.bolt11 })
  await provider.paid(invoice)
  const summary = await job.json()
  expect(await job.exited).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', msat_paid: 3000, result: 'done first' })
  expect(paid()).toBe(3000)
})

test('pay after with an invoice above the bid: not paid, no offer within the bid (exit 3)', async () => {
  const paid = debit()
  const job = buy(['--input=work first, dear', '--timeout=30'])
  const request = await provider.nextRequest()
  const invoice = await provider.invoice(50_000)
  await provider.deliver(request, 'pricey', { amountMsat: 50_000, bolt11: invoice.bolt11 })
  const summary = await job.json()
  expect(await job.exited).toBe(3)
  expect(summary).toMatchObject({ status: 'no_offer', msat_paid: 0 })
  expect(summary.result).toBeUndefined()
  expect(paid()).toBe(0)
})

test('chaining: --input-type=job names an earlier request, which the relays still hold after its run', async () => {
  const first = buy(['--input=first link', '--timeout=30'])
  const earlier = await provider.nextRequest()
  // Its NIP-40 expiration is a day past the run: relays drop expired events, and the chain with them.
  expect(earlier.expiration).toBeGreaterThan(Math.floor(Date.now() / 1000) + 86_000)
  await provider.paid(await provider.offer(earlier, 1000))
  await provider.deliver(earlier, 'link one')
  expect(await first.exited).toBe(0)

  const job = buy(['--input-type=job', `--input=${earlier.id}`, '--timeout=30'])
  const request = await provider.nextRequest()
  expect(request.inputs).toEqual([{ data: earlier.id, type: 'job' }])
  expect(request.event.tags).toContainEqual(['i', earlier.id, 'job'])
  expect((await provider.pool.query({ ids: [earlier.id] }, 2000)).map((e) => e.id)).toEqual([earlier.id])
  await provider.paid(await provider.offer(request, 1000))
  await provider.deliver(request, 'chained')
  expect((await job.json()).result).toBe('chained')
  expect(await job.exited).toBe(0)
})

test('--encrypt: the input travels encrypted to the provider, the result comes back encrypted', async () => {
  const paid = debit()
  const job = buy(['--encrypt', '--input=the secret plan', '--param=tone=dry', '--timeout=30'])
  const request = await provider.nextRequest()
  expect(request.encryption).toBe('nip44')
  expect(request.inputs).toEqual([{ data: 'the secret plan', type: 'text' }])
  expect(JSON.stringify(request.event)).not.toContain('secret plan')
  expect(request.event.tags.map((t) => t[0])).not.toContain('i')
  await provider.paid(await provider.offer(request, 2000))
  const result = await provider.deliver(request, 'plan acknowledged')
  expect(result.content).not.toContain('acknowledged')
  const summary = await job.json()
  expect(await job.exited).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', result: 'plan acknowledged', msat_paid: 2000 })
  expect(paid()).toBe(2000)
})

test('--output writes the text to a new file; an existing file is refused before anything is sent', async () => {
  const dir = await tempDir('job-out-')
  const job = buy(['--input=to a file', '--output=answer.txt', '--timeout=30'], { cwd: dir })
  const request = await provider.nextRequest()
  await provider.paid(await provider.offer(request, 1000))
  await provider.deliver(request, 'filed')
  const summary = await job.json()
  expect(await job.exited).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', file: join(dir, 'answer.txt'), bytes: 5 })
  expect(await readFile(join(dir, 'answer.txt'), 'utf8')).toBe('filed')

  await writeFile(join(dir, 'taken.txt'), 'mine')
  const refused = buy(['--input=again', '--output=taken.txt'], { cwd: dir })
  expect(await refused.exited).toBe(2)
  expect(refused.stderr()).toMatch(/INVALID_FLAG: --output names a file that exists/)
  expect(await readFile(join(dir, 'taken.txt'), 'utf8')).toBe('mine')
})
