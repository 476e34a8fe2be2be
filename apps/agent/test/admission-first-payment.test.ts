// Slot squatting (SPEC §5.3, first payment): a session whose tick 0 is not paid within
// FIRST_PAYMENT_SECONDS of its session_ack gives up its slot (session_end FIRST_PAYMENT_TIMEOUT),
// and a key that leaves a session unpaid is backed off before it may start again. Against the real
// 2020117-agent bin: raw customers take every --max-sessions slot and never pay, each comes back
// at once under its own key, and an honest customer (the real 2020117-session bin) still gets a
// session and pays, as the devnet wallet's ledger shows.
//
// The grace is 12 s here, so the old rule alone (end unpaid sessions at 2G) would hold each slot
// for 24 s, longer than the first-payment deadline of 20 s.
//
// Old failure: the squatters' sessions ended UNPAID only after 2G, and each squatter started again
// at once and got its slot back, so the honest customer never found a free one.

import { afterAll, expect, test } from 'vitest'
import { FIRST_PAYMENT_SECONDS, tickAmountMsat } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { Dialer, type RawCustomer } from './helpers/hostile-customer.js'
import { newKeyPair, openAs } from './helpers/paying-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
const open: RawCustomer[] = []

afterAll(async () => {
  for (const c of open) c.destroy()
})

test('squatters on every slot lose them at the first-payment deadline and are backed off; an honest customer gets a session and pays', async () => {
  const GRACE = 12
  expect(FIRST_PAYMENT_SECONDS).toBeLessThan(2 * GRACE)
  const agent = spawnBin('agent', [
    net.flag,
    '--processor=http://127.0.0.1:9',
    '--sats-per-minute=5',
    '--tick-seconds=60',
    `--grace-seconds=${GRACE}`,
    '--max-sessions=2',
    '--json'
  ])
  const { swarm_key: swarmKey } = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')

  // Two squatters take both slots: acknowledged, billed, never paying.
  const keys = [newKeyPair(), newKeyPair()]
  const squatters = await Promise.all(keys.map((k) => openAs(dialer, swarmKey, k)))
  open.push(...squatters)
  for (const s of squatters) {
    expect((await s.start()).type).toBe('session_ack')
    await s.next('tick', (t) => t.seq === 0)
  }
  const full = await openAs(dialer, swarmKey, newKeyPair())
  open.push(full)
  const refused = await full.start()
  expect(refused.type === 'session_reject' && refused.code).toBe('NO_CAPACITY')

  // The deadline frees both slots, with a reason of its own.
  for (const s of squatters) {
    const end = await s.next('session_end')
    expect(end).toMatchObject({ by: 'provider', reason: 'FIRST_PAYMENT_TIMEOUT', ticksPaid: 0, msatPaid: 0 })
    expect(end.message).toMatch(new RegExp(`${FIRST_PAYMENT_SECONDS} s`))
  }

  // Each squatter comes straight back under its key, on a new connection: backed off.
  for (const k of keys) {
    const again = await openAs(dialer, swarmKey, k)
    open.push(again)
    const answer = await again.start()
    expect(answer.type).toBe('session_reject')
    if (answer.type !== 'session_reject') return
    expect(answer.code).toBe('RATE_LIMITED')
    expect(answer.message).toMatch(/never paid|unpaid/)
  }

  // The honest customer gets a slot and pays tick 0.
  const customerBefore = net.balanceMsat('customer')
  const honest = spawnBin('session', [
    net.flag,
    '--budget=1000',
    '--port=0',
    '--yes',
    '--no-repl',
    `--swarm-key=${swarmKey}`
  ])
  await honest.line(/tunnel open: http:\/\/127\.0\.0\.1:\d+/)
  expect(customerBefore - net.balanceMsat('customer')).toBe(tickAmountMsat(5, 60))

  expect(agent.child.exitCode).toBeNull()
}, 60_000)
