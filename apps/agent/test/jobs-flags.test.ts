// Job mode's flags on the real bin: which halves run, the errors that say how to fix a command
// line, --help, --free and --pay-after end to end, and that a job's processor sees none of the
// agent's secrets (the NWC URI in its environment).

import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork, type TestNetwork } from '@2020117/testkit'
import { JobCustomer } from './helpers/job-customer.js'

let net: TestNetwork
let customer: JobCustomer

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  customer = new JobCustomer(net)
})
afterAll(() => customer?.close())

async function refused(args: string[]): Promise<string> {
  const agent = spawnBin('agent', args)
  expect(await agent.exited).toBe(2)
  return agent.stderr()
}

test('--help documents the job flags', async () => {
  const agent = spawnBin('agent', ['--help'])
  expect(await agent.exited).toBe(0)
  for (const flag of [
    '--job-price',
    '--pay-after',
    '--job-timeout',
    '--max-jobs',
    '--max-output',
    '--blossom',
    '--no-jobs',
    '--no-sessions',
    '--api',
    '--model',
    '--job-payment-seconds'
  ])
    expect(agent.stdout()).toContain(flag)
})

test('flag errors name the flag and the fix', async () => {
  expect(await refused([net.flag, '--processor=exec:/bin/cat', '--sats-per-minute=5', '--job-price=2'])).toMatch(
    /INVALID_FLAG: --processor .*exec: processor serves jobs only/
  )
  expect(await refused([net.flag, '--processor=exec:/bin/cat'])).toMatch(/MISSING_FLAG.*--job-price/)
  expect(await refused(['--processor=exec:/bin/cat', '--job-price=2'])).toMatch(/MISSING_FLAG.*--relays/)
  expect(await refused([net.flag, '--kind=5302', '--job-price=5050:2', '--no-sessions'])).toMatch(
    /INVALID_FLAG: --job-price .*5050/
  )
  expect(await refused([net.flag, '--kind=5302', '--job-price=0', '--no-sessions'])).toMatch(
    /INVALID_FLAG: --job-price/
  )
  expect(await refused([net.flag, '--kind=5200', '--kind=5302', '--job-price=5302:2', '--no-sessions'])).toMatch(
    /MISSING_FLAG.*kind 5200 has no price/
  )
  expect(await refused([net.flag, '--processor=nonsense', '--job-price=2', '--no-sessions'])).toMatch(
    /INVALID_FLAG: --processor/
  )
})

test('--free alone keeps to sessions (free sessions do not become free jobs); --jobs --free sells free jobs', async () => {
  const sessionsOnly = spawnBin('agent', [net.flag, '--json', '--free'])
  expect(await sessionsOnly.json((v) => v.event === 'ready')).toMatchObject({ sessions: true, jobs: false })
  sessionsOnly.kill()
  const both = spawnBin('agent', [net.flag, '--json', '--free', '--jobs', '--kind=5050'])
  expect(await both.json((v) => v.event === 'ready')).toMatchObject({
    sessions: true,
    jobs: true,
    job_prices: { '5050': 0 }
  })
  both.kill()
  expect(await refused(['--sats-per-minute=5', '--job-price=2'])).toMatch(/MISSING_FLAG.*--relays/)
})

test('with relays and a session price only, the agent rents sessions and sells no jobs (as before job mode)', async () => {
  const agent = spawnBin('agent', [net.flag, '--json', '--sats-per-minute=5'])
  expect(await agent.json((v) => v.event === 'ready')).toMatchObject({ sessions: true, jobs: false })
  await agent.line(/not selling jobs: set --job-price/)
  agent.kill()
})

test("--free: a job is worked without an invoice, and the processor's environment holds no secret", async () => {
  const agent = spawnBin(
    'agent',
    [net.flag, '--json', '--free', '--kind=5050', '--processor=exec:/usr/bin/env', '--no-sessions'],
    {
      env: { NWC_URI: net.devnet.state.accounts.provider!.nwc_uri, NOSTR_SECRET_PROBE: 'x' }
    }
  )
  const key = (await agent.json((v) => v.event === 'ready')).pubkey
  const posted = await customer.post({ kind: 5050, inputs: [{ data: '', type: 'text' }], provider: key })
  const result = await customer.result(posted)
  expect(result.content).toMatch(/^PATH=/m)
  expect(result.content).not.toMatch(/walletconnect|NWC_URI|NOSTR_SECRET_PROBE|KEYS_AGENT/)
  expect(posted.feedback.map((f) => f.status)).not.toContain('payment-required')
  agent.kill()
})

test('--pay-after: the work first, the result carries the invoice; paying it moves the ledger by the price', async () => {
  const agent = spawnBin('agent', [
    net.flag,
    '--json',
    '--kind=5050',
    '--processor=exec:/bin/cat',
    '--job-price=6',
    '--pay-after',
    '--no-sessions'
  ])
  const key = (await agent.json((v) => v.event === 'ready')).pubkey
  const before = net.balanceMsat('customer')
  const posted = await customer.post({ kind: 5050, inputs: [{ data: 'work first', type: 'text' }], provider: key })
  const result = await customer.result(posted)
  expect(result.content).toBe('work first')
  expect(result.amountMsat).toBe(6000)
  expect(result.bolt11).toMatch(/^lnbcrt/)
  expect(posted.feedback.map((f) => f.status)).not.toContain('payment-required')
  expect(net.balanceMsat('customer')).toBe(before)
  await net.devnet.wallet.payInvoice('customer', result.bolt11!)
  expect(net.balanceMsat('customer')).toBe(before - 6000)
  agent.kill()
})

test('a second agent of the same name does not sell jobs beside the first (it would handle every request twice)', async () => {
  const args = [net.flag, '--json', '--kind=5050', '--processor=exec:/bin/cat', '--job-price=2', '--no-sessions']
  const first = spawnBin('agent', args, { env: { KEYS_AGENT: 'jobs-flags-twin' } })
  await first.json((v) => v.event === 'ready')
  const second = spawnBin('agent', args, { env: { KEYS_AGENT: 'jobs-flags-twin' } })
  expect(await second.exited).not.toBe(0)
  expect(second.stderr()).toMatch(/LOCK_HELD: .*held by process \d+/)
  first.kill()
  await first.exited
  const third = spawnBin('agent', args, { env: { KEYS_AGENT: 'jobs-flags-twin' } })
  await third.json((v) => v.event === 'ready') // the first let go when it stopped
  third.kill()
})

test('--job-timeout stops a processor that runs too long: PROCESSOR_TIMEOUT after the payment, no result', async () => {
  const agent = spawnBin('agent', [
    net.flag,
    '--json',
    '--kind=5050',
    '--processor=exec:/bin/sleep 30',
    '--job-price=1',
    '--job-timeout=1',
    '--no-sessions'
  ])
  const key = (await agent.json((v) => v.event === 'ready')).pubkey
  const posted = await customer.post({ kind: 5050, inputs: [{ data: 'slow', type: 'text' }], provider: key })
  await customer.pay(await customer.status(posted, 'payment-required'))
  expect((await customer.status(posted, 'error')).text).toMatch(/^PROCESSOR_TIMEOUT: /)
  expect(posted.results).toEqual([])
  agent.kill()
})
