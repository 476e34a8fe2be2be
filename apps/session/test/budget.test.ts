// The budget: exactly the ticks it covers are paid, the paid time is used to its end, and then the
// session ends BUDGET_EXHAUSTED and the tunnel closes.

import net from 'node:net'
import { afterAll, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const network = await startTestNetwork({ teardown: afterAll })

async function get(url: string): Promise<number> {
  const res = await fetch(url)
  await res.arrayBuffer()
  return res.status
}

test('a budget that covers 3 ticks pays exactly 3, uses the paid time, then ends BUDGET_EXHAUSTED and closes the tunnel', async () => {
  // 60 sats/min for 2 s = 2000 msat a tick; 6 sats buy exactly 3 ticks (--max-fee=0: the devnet
  // wallet charges no routing fee, so no part of the budget is held in reserve for one).
  const perTick = tickAmountMsat(60, 2)
  expect(perTick).toBe(2000)
  const before = network.balanceMsat('customer')

  const agent = spawnBin('agent', [
    network.flag,
    '--sats-per-minute=60',
    '--tick-seconds=2',
    '--grace-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = spawnBin('session', [
    network.flag,
    '--budget=6',
    '--max-fee=0',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--swarm-key=${ready.swarm_key}`
  ])
  const url = (await session.line(/tunnel open: (http:\/\/\S+)/)).match(/(http:\/\/127\.0\.0\.1:\d+)/)?.[1] as string

  // The budget is spent once tick 2 is paid, but that tick's time is still paid for: the tunnel serves.
  await session.line(/budget spent/)
  expect(await get(`${url}/healthz`)).toBe(200)

  const summary = await session.json<{ reason: string; ticks_paid: number; msat_paid: number; duration_s: number }>(
    (s) => 'reason' in s
  )
  expect(summary).toMatchObject({ reason: 'BUDGET_EXHAUSTED', ticks_paid: 3, msat_paid: 3 * perTick })
  // The session lasted through its 3 paid periods (6 s), not a moment less than the tolerance allows.
  expect(summary.duration_s).toBeGreaterThanOrEqual(5.8)
  expect(await session.exited).toBe(0)
  expect(before - network.balanceMsat('customer')).toBe(3 * perTick)

  // The tunnel is closed afterwards.
  const port = Number(new URL(url).port)
  const refused = await new Promise<string>((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    sock.on('connect', () => (sock.destroy(), resolve('connected')))
    sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
  })
  expect(refused).toBe('ECONNREFUSED')

  const ended = await agent.json<{ event: string; reason: string; ticks_paid: number }>(
    (e) => e.event === 'session_ended'
  )
  expect(ended).toMatchObject({ reason: 'BUDGET_EXHAUSTED', ticks_paid: 3 })
})
