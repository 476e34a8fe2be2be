// Exact accounting with the real bins on the local network: what the wallet ledger moved, what the
// customer's summary says and what the provider recorded are the same number of msat.

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const net = await startTestNetwork({ teardown: afterAll })

test('a 2 s tick session for about 10 s moves exactly ticks × per-tick amount, and the summary agrees', async () => {
  const customerBefore = net.balanceMsat('customer')
  const providerBefore = net.balanceMsat('provider')

  const agent = spawnBin('agent', [net.flag, '--sats-per-minute=5', '--tick-seconds=2', '--grace-seconds=5', '--json'])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')

  const statusFile = join(net.dir, 'status.json')
  const session = spawnBin('session', [
    net.flag,
    '--budget=500',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--swarm-key=${ready.swarm_key}`,
    `--status-file=${statusFile}`
  ])
  // Tick 4 paid means the session ran through [0, 10) s of paid time.
  await agent.line(/tick paid .*seq=4/)
  // A script can read the running session's status without the prompt.
  const live = JSON.parse(await readFile(statusFile, 'utf8'))
  expect(live).toMatchObject({ state: 'active', provider: ready.swarm_key, sats_per_minute: 5, budget_sats: 500 })
  expect(live.ticks_paid).toBeGreaterThanOrEqual(1)
  expect(live.msat_spent).toBe(live.ticks_paid * 167)
  session.kill('SIGINT')
  const summary = await session.json<{ reason: string; ticks_paid: number; msat_paid: number; duration_s: number }>(
    (s) => 'reason' in s
  )
  expect(await session.exited).toBe(0)
  expect(summary.reason).toBe('CUSTOMER_QUIT')

  const perTick = tickAmountMsat(5, 2)
  expect(perTick).toBe(167)
  expect(summary.ticks_paid).toBeGreaterThanOrEqual(5)
  expect(summary.msat_paid).toBe(summary.ticks_paid * perTick)
  expect(customerBefore - net.balanceMsat('customer')).toBe(summary.msat_paid)
  expect(net.balanceMsat('provider') - providerBefore).toBe(summary.msat_paid)

  const ended = await agent.json<{ event: string; ticks_paid: number; msat_paid: number; reason: string }>(
    (e) => e.event === 'session_ended'
  )
  expect(ended).toMatchObject({ reason: 'CUSTOMER_QUIT', ticks_paid: summary.ticks_paid, msat_paid: summary.msat_paid })
  const final = JSON.parse(await readFile(statusFile, 'utf8'))
  expect(final).toMatchObject({ state: 'ended', summary: { reason: 'CUSTOMER_QUIT', msat_paid: summary.msat_paid } })
  agent.kill('SIGINT')
  expect(await agent.exited).toBe(0)
})
