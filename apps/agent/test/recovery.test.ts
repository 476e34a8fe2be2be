// A provider recovers from a network outage by itself. The whole local network (DHT bootstrap
// nodes, relay, wallet) stops under a running agent and starts again on the same ports with the
// same state; a customer who arrives afterwards finds the agent within its discovery timeout and
// pays, and the ledger says so. Synchronised on the agent's own log lines, never on sleeps.

import { afterAll, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const net = await startTestNetwork({ teardown: afterAll })

test(
  'after the DHT, the relay and the wallet restart under a running agent, a new session finds it and pays',
  { timeout: 90_000 },
  async () => {
    const agent = spawnBin('agent', [net.flag, '--sats-per-minute=5', '--tick-seconds=2', '--json'])
    await agent.json((e) => e.event === 'ready')

    await net.stop()
    // The agent notices that the DHT no longer holds its announces, and keeps announcing.
    await agent.line(/the DHT lost this provider's announce/)
    await net.start()
    await agent.line(/the DHT holds this provider's announces again/)

    const before = net.balanceMsat('customer')
    const paymentsBefore = net.devnet.wallet.transactions('customer').length
    const session = spawnBin('session', [net.flag, '--budget=500', '--port=0', '--yes', '--no-repl', '--json'])
    await session.line(/paid tick 1:/)
    session.kill('SIGINT')
    const summary = await session.json<{ reason: string; ticks_paid: number; msat_paid: number }>((s) => 'reason' in s)
    expect(summary.reason).toBe('CUSTOMER_QUIT')
    expect(summary.ticks_paid).toBeGreaterThanOrEqual(2)
    expect(summary.msat_paid).toBe(summary.ticks_paid * tickAmountMsat(5, 2))
    // The ledger is the judge: the wallet paid exactly what the summary says, once per tick.
    expect(net.devnet.wallet.transactions('customer').length - paymentsBefore).toBe(summary.ticks_paid)
    expect(before - net.balanceMsat('customer')).toBe(summary.msat_paid)
    const ended = await agent.json<{ event: string; ticks_paid: number; msat_paid: number }>(
      (e) => e.event === 'session_ended'
    )
    expect(ended).toMatchObject({ ticks_paid: summary.ticks_paid, msat_paid: summary.msat_paid })
  }
)

test('a provider publishes its presence again when a relay comes back', { timeout: 60_000 }, async () => {
  const agent = spawnBin('agent', [net.flag, '--sats-per-minute=5', '--json'])
  await agent.json((e) => e.event === 'ready')
  await net.stop('relay')
  await net.start('relay')
  await agent.line(/relay .* is back: published the profile, handler and heartbeat again/)
})
