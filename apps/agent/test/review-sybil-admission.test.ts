// Review (issue 10 items 4 and 5, seam): the admission limits are keyed on the Hyperswarm key, which
// costs nothing. Every limit a stranger meets (starts per key, the unpaid backoff) is per key, and
// the one global limit (ADMITTED_PER_WINDOW sessions admitted per 10 s, each costing the provider an
// invoice) counts sessions that a stranger starts and quits at once, for free. So a flooder that
// dials each time under a fresh key, starts a session and ends it straight away, spends the global
// rate alone, and the honest customer gets RATE_LIMITED: item 4's lockout, with admitted starts
// instead of refused ones. (The same fresh keys let squatters hold every slot past item 5's backoff.)
//
// Against the real 2020117-agent bin: ADMITTED_PER_WINDOW raw customers, each under its own key,
// start and quit one session each; then one more customer asks for a session and must get one.

import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { ADMITTED_PER_WINDOW } from '../src/admission.js'
import { Dialer, RawCustomer } from './helpers/hostile-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
const open: RawCustomer[] = []

afterAll(async () => {
  for (const c of open) c.destroy()
})

test('strangers under fresh keys that start and quit sessions at once do not lock an honest customer out', async () => {
  const agent = spawnBin('agent', [
    net.flag,
    '--processor=http://127.0.0.1:9',
    '--sats-per-minute=5',
    '--tick-seconds=60',
    '--max-sessions=4',
    '--json'
  ])
  const { swarm_key: swarmKey } = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')

  let admitted = 0
  for (let i = 0; i < ADMITTED_PER_WINDOW; i++) {
    const c = await RawCustomer.open(dialer, swarmKey)
    open.push(c)
    const answer = await c.start()
    if (answer.type !== 'session_ack') break
    admitted++
    c.send({
      type: 'session_end',
      sessionId: answer.sessionId,
      by: 'customer',
      reason: 'CUSTOMER_QUIT',
      message: '',
      ticksPaid: 0,
      msatPaid: 0,
      durationMs: 0
    })
    await c.closed
    c.destroy()
  }
  expect(admitted).toBe(ADMITTED_PER_WINDOW)

  const honest = await RawCustomer.open(dialer, swarmKey)
  open.push(honest)
  const answer = await honest.start()
  const got = answer.type === 'session_reject' ? `${answer.code}: ${answer.message}` : answer.type
  expect(got, 'one stranger with free keys spent the global admission rate: the honest customer was refused').toBe(
    'session_ack'
  )
  // Its first invoice waits its turn in the global rate behind the strangers' (FIFO), and comes.
  if (answer.type === 'session_ack') expect((await honest.next('tick')).seq).toBe(0)
  expect(agent.child.exitCode).toBeNull()
}, 120_000)
