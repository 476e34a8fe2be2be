// Every ending prints a summary. Here: the provider shuts down (SIGTERM) while two customers are in
// session; both get PROVIDER_SHUTDOWN and a summary, and the ledger matches what they paid.

import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const network = await startTestNetwork({ teardown: afterAll })

test('a provider stopping with SIGTERM ends every session with PROVIDER_SHUTDOWN, and each customer prints its summary', async () => {
  const before = network.balanceMsat('customer')
  const agent = spawnBin('agent', [network.flag, '--sats-per-minute=5', '--tick-seconds=2', '--json'])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const sessions = [0, 1].map(() =>
    spawnBin('session', [
      network.flag,
      '--budget=500',
      '--port=0',
      '--yes',
      '--no-repl',
      '--json',
      `--swarm-key=${ready.swarm_key}`
    ])
  )
  await Promise.all(sessions.map((s) => s.line(/tunnel open/)))

  agent.kill('SIGTERM')
  const summaries = await Promise.all(
    sessions.map((s) => s.json<{ reason: string; by: string; msat_paid: number }>((v) => 'reason' in v))
  )
  for (const s of summaries) expect(s).toMatchObject({ reason: 'PROVIDER_SHUTDOWN', by: 'provider' })
  expect(await Promise.all(sessions.map((s) => s.exited))).toEqual([3, 3])
  const summary = await agent.json<{ event: string; sessions: Array<{ reason: string }> }>((e) => e.event === 'summary')
  expect(summary.sessions.map((s) => s.reason)).toEqual(['PROVIDER_SHUTDOWN', 'PROVIDER_SHUTDOWN'])
  expect(await agent.exited).toBe(0)
  expect(before - network.balanceMsat('customer')).toBe(summaries.reduce((n, s) => n + s.msat_paid, 0))
})
