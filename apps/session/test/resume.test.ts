// A dropped connection mid-session is resumed: same session, no double charge, no lost paid time,
// and the tunnel works again. The customer's connection is cut with SIGUSR2 (a real destroy of the
// Hyperswarm connection inside the session process).

import { afterAll, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const network = await startTestNetwork({ teardown: afterAll })

async function healthz(base: string): Promise<number> {
  const res = await fetch(`${base}/healthz`)
  await res.arrayBuffer()
  return res.status
}

test('the session resumes after its connection is cut, the tunnel works again, and the ledger equals the paid ticks', async () => {
  const before = network.balanceMsat('customer')
  const paymentsBefore = network.devnet.wallet.transactions('customer').length
  const agent = spawnBin('agent', [
    network.flag,
    '--sats-per-minute=5',
    '--tick-seconds=2',
    '--grace-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = spawnBin('session', [
    network.flag,
    '--budget=500',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--swarm-key=${ready.swarm_key}`
  ])
  const base = (await session.line(/tunnel open: (http:\/\/\S+)/)).match(/(http:\/\/127\.0\.0\.1:\d+)/)?.[1] as string
  await session.line(/paid tick 1:/)
  expect(await healthz(base)).toBe(200)

  session.kill('SIGUSR2')
  await session.line(/connection to the provider lost: resuming/)
  await agent.line(/session resumed/)
  await session.line(/session resumed/)
  expect(await healthz(base)).toBe(200)

  // Billing goes on across the resume.
  await session.line(/paid tick 3:/)
  session.kill('SIGINT')
  const summary = await session.json<{ reason: string; ticks_paid: number; msat_paid: number; resumes: number }>(
    (s) => 'reason' in s
  )
  expect(await session.exited).toBe(0)
  expect(summary).toMatchObject({ reason: 'CUSTOMER_QUIT', resumes: 1 })
  expect(summary.msat_paid).toBe(summary.ticks_paid * tickAmountMsat(5, 2))
  // No double charge: exactly one wallet payment per tick paid, and the ledger moved by exactly that.
  expect(network.devnet.wallet.transactions('customer').length - paymentsBefore).toBe(summary.ticks_paid)
  expect(before - network.balanceMsat('customer')).toBe(summary.msat_paid)

  const ended = await agent.json<{
    event: string
    reason: string
    ticks_paid: number
    msat_paid: number
    resumes: number
  }>((e) => e.event === 'session_ended')
  expect(ended).toMatchObject({
    reason: 'CUSTOMER_QUIT',
    ticks_paid: summary.ticks_paid,
    msat_paid: summary.msat_paid,
    resumes: 1
  })
})

test('a session not resumed within twice the grace ends as it would have, and the customer says so', async () => {
  const agent = spawnBin('agent', [
    network.flag,
    '--sats-per-minute=5',
    '--tick-seconds=2',
    '--grace-seconds=1',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = spawnBin('session', [
    network.flag,
    '--budget=500',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--swarm-key=${ready.swarm_key}`
  ])
  await session.line(/tunnel open/)
  // The provider goes away for good: the customer tries to resume, then ends with a summary.
  agent.kill('SIGKILL')
  const summary = await session.json<{ reason: string; resumes: number; ticks_paid: number }>((s) => 'reason' in s)
  expect(summary.reason).toBe('PROVIDER_GONE')
  expect(summary.resumes).toBe(0)
  expect(await session.exited).toBe(3)
})
