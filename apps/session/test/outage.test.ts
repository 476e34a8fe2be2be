// A short wallet-transport outage does not end a paying session (issue 10, item 22). The relay
// that carries NIP-47 stops mid-session for less than the grace: the agent's make_invoice (and
// the customer's pay_invoice, if one is under way) fail to connect meanwhile. Both sides retry
// while the paid time and the grace last, so the session carries on once the relay is back, and
// the ledger equals both summaries. Synchronised on log lines, never on sleeps.

import { afterAll, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const net = await startTestNetwork({ teardown: afterAll })

test(
  'the relay stops for less than the grace mid-session: the session carries on, and the ledger equals both summaries',
  { timeout: 90_000 },
  async () => {
    const before = net.balanceMsat('customer')
    const paymentsBefore = net.devnet.wallet.transactions('customer').length
    const agent = spawnBin('agent', [
      net.flag,
      '--sats-per-minute=5',
      '--tick-seconds=2',
      '--grace-seconds=20',
      '--json'
    ])
    await agent.json((e) => e.event === 'ready')
    const session = spawnBin('session', [net.flag, '--budget=500', '--port=0', '--yes', '--no-repl', '--json'])
    await session.line(/paid tick 1:/)

    await net.stop('relay')
    // The relay stays down until the outage has reached a make_invoice (the agent's next bill): its
    // log line names the method, whether the call is retried (the fix) or fatal (before it).
    await agent.line(/make_invoice/, 'stderr', { fresh: true })
    await net.start('relay')
    // Billing goes on: two more ticks are paid after the relay is back.
    await session.line(/paid tick \d+:/, 'stderr', { fresh: true })
    await session.line(/paid tick \d+:/, 'stderr', { fresh: true })

    session.kill('SIGINT')
    const summary = await session.json<{ reason: string; ticks_paid: number; msat_paid: number; resumes: number }>(
      (s) => 'reason' in s
    )
    expect(summary.reason).toBe('CUSTOMER_QUIT')
    expect(summary.msat_paid).toBe(summary.ticks_paid * tickAmountMsat(5, 2))
    // The ledger is the judge: one wallet payment per tick paid, and the balance moved by exactly that.
    expect(net.devnet.wallet.transactions('customer').length - paymentsBefore).toBe(summary.ticks_paid)
    expect(before - net.balanceMsat('customer')).toBe(summary.msat_paid)
    const ended = await agent.json<{ event: string; reason: string; ticks_paid: number; msat_paid: number }>(
      (e) => e.event === 'session_ended'
    )
    expect(ended).toMatchObject({
      reason: 'CUSTOMER_QUIT',
      ticks_paid: summary.ticks_paid,
      msat_paid: summary.msat_paid
    })
  }
)
