// Review (issue 10 item 5, seam): a squatter that ends its own unpaid session is not backed off.
//
// Provider.judge (apps/agent/src/provider.ts) strikes a key only when the provider ended the session
// for non-payment (UNPAID, FIRST_PAYMENT_TIMEOUT). A squatter that sends its own session_end just
// before the first-payment deadline, with nothing paid, gets no strike and starts again at once under
// the same key: one key holds a slot for ever, FIRST_PAYMENT_SECONDS at a time, and --max-sessions
// such keys lock every honest customer out with NO_CAPACITY.
//
// Against the real 2020117-agent bin: a raw customer takes the only slot, is billed tick 0, ends the
// session itself with nothing paid, and comes straight back under its key. It must be backed off
// (RATE_LIMITED), as it is when it lets the deadline run out.

import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { Dialer, type RawCustomer } from './helpers/hostile-customer.js'
import { newKeyPair, openAs } from './helpers/paying-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
const open: RawCustomer[] = []

afterAll(async () => {
  for (const c of open) c.destroy()
})

test('a squatter that quits its own unpaid session before the deadline is backed off like one that lets it run out', async () => {
  const agent = spawnBin('agent', [
    net.flag,
    '--processor=http://127.0.0.1:9',
    '--sats-per-minute=5',
    '--tick-seconds=60',
    '--grace-seconds=12',
    '--max-sessions=1',
    '--json'
  ])
  const { swarm_key: swarmKey } = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')

  const key = newKeyPair()
  const squatter = await openAs(dialer, swarmKey, key)
  open.push(squatter)
  const ack = await squatter.start()
  expect(ack.type).toBe('session_ack')
  if (ack.type !== 'session_ack') return
  await squatter.next('tick', (t) => t.seq === 0)
  // The squatter held the slot, was billed, paid nothing, and leaves on its own terms.
  squatter.send({
    type: 'session_end',
    sessionId: ack.sessionId,
    by: 'customer',
    reason: 'CUSTOMER_QUIT',
    message: '',
    ticksPaid: 0,
    msatPaid: 0,
    durationMs: 0
  })
  const ended = await agent.json<{ event: string; ticks_paid: number; by: string }>((e) => e.event === 'session_ended')
  expect(ended).toMatchObject({ ticks_paid: 0, by: 'customer' })

  // Straight back under the same key, on a new connection.
  const again = await openAs(dialer, swarmKey, key)
  open.push(again)
  const answer = await again.start()
  expect(answer.type, 'a key that left a billed session unpaid got a new slot at once: it can squat for ever').toBe(
    'session_reject'
  )
  if (answer.type === 'session_reject') expect(answer.code).toBe('RATE_LIMITED')
  expect(agent.child.exitCode).toBeNull()
}, 60_000)
