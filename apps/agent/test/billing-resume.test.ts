// The real 2020117-agent bin when a customer resumes in the middle of the wallet's work (issue 10,
// items 9, 13, 17): after the wallet confirmed tick n+1 before tick n, while the next invoice is
// being made, and while the payment acked on the dropped channel is still being looked up. Nothing
// a peer drives may throw out of a listener, a failure ends one session only, a payment counts
// once, and the agent's record equals the devnet wallet's ledger. A hostile customer (raw frames)
// drives the resumes; in the first test an honest 2020117-session bin rents from the same agent
// throughout. The wallet's delays are real: the devnet wallet runs in this process, and the test
// holds its answer to one make_invoice or lookup_invoice.

import http from 'node:http'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { tickAmountMsat, type MessageOf } from '@2020117/protocol'
import { killAll, spawnBin, startTestNetwork } from '@2020117/testkit'
import { Dialer, RawCustomer } from './helpers/hostile-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
let upstream: http.Server

beforeAll(async () => {
  upstream = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
  )
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
})

afterEach(async () => {
  await killAll()
})

afterAll(async () => {
  upstream?.close()
})

/**
 * Holds the devnet wallet's lookup_invoice answers for `hash` until `release()`; `asked` resolves
 * once the agent has asked.
 */
function holdLookups(hash: string): { asked: Promise<void>; release: () => void } {
  const ledger = (
    net.devnet.wallet as unknown as { ledger: { lookupInvoice(name: string, q: { paymentHash?: string }): unknown } }
  ).ledger
  const original = ledger.lookupInvoice.bind(ledger)
  let release!: () => void
  let onasked!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  const asked = new Promise<void>((resolve) => (onasked = resolve))
  ledger.lookupInvoice = (name, q) => {
    if (q.paymentHash !== hash) return original(name, q)
    onasked()
    return held.then(() => original(name, q))
  }
  return {
    asked,
    release: () => {
      ledger.lookupInvoice = original
      release()
    }
  }
}

/** Holds the devnet wallet's next make_invoice whose description names tick `seq`; resolves once one is held. */
function holdMakeInvoice(seq: number): { held: Promise<void>; release: () => void } {
  type MakeInvoice = (name: string, r: { description?: string }) => Promise<unknown>
  const ledger = (net.devnet.wallet as unknown as { ledger: { makeInvoice: MakeInvoice } }).ledger
  const original = ledger.makeInvoice.bind(ledger)
  let release!: () => void
  let entered!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const held = new Promise<void>((resolve) => (entered = resolve))
  ledger.makeInvoice = (name, r) => {
    // SPEC §5.3: `2020117 session <id> tick <seq> <provider npub> <customer npub>`.
    if (!r.description?.includes(` tick ${seq} `)) return original(name, r)
    ledger.makeInvoice = original
    entered()
    return gate.then(() => original(name, r))
  }
  return { held, release }
}

async function startAgent(grace = 6) {
  const { port } = upstream.address() as { port: number }
  const agent = spawnBin('agent', [
    net.flag,
    `--processor=http://127.0.0.1:${port}`,
    '--sats-per-minute=5',
    '--tick-seconds=2',
    `--grace-seconds=${grace}`,
    '--json'
  ])
  const key = (await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')).swarm_key
  return { agent, key }
}

/** The customer drops its connection and resumes the session on a new one. */
async function resume(key: string, ack: MessageOf<'session_ack'>, old: RawCustomer): Promise<RawCustomer> {
  old.destroy()
  const back = await RawCustomer.open(dialer, key)
  back.send({ type: 'session_resume', sessionId: ack.sessionId, resumeSecret: ack.resumeSecret })
  return back
}

const pay = async (tick: MessageOf<'tick'>) =>
  Buffer.from((await net.devnet.wallet.payInvoice('customer', tick.bolt11)).preimage, 'hex')
const hashOf = (tick: MessageOf<'tick'>) =>
  net.devnet.wallet.transactions('customer').find((t) => t.invoice === tick.bolt11)?.payment_hash as string

test('the wallet confirms tick n+1 before tick n, the customer resumes: the agent does not crash, that session goes on, and an honest session is served and paid throughout', async () => {
  const { agent, key } = await startAgent()
  const honest = spawnBin('session', [
    net.flag,
    '--budget=1000',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--swarm-key=${key}`
  ])
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(
    await honest.line(/tunnel open: http:\/\/127\.0\.0\.1:\d+/)
  )?.[1] as string

  const rogue = await RawCustomer.open(dialer, key)
  const answer = await rogue.start({ maxSatsPerMinute: 5 })
  if (answer.type !== 'session_ack') throw new Error(`session refused: ${answer.code}`)
  const ack = answer
  const t0 = await rogue.next('tick', (t) => t.seq === 0)
  rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: 0, preimage: await pay(t0) })
  await rogue.next('tick_receipt', (r) => r.seq === 0)
  // Ticks 1 and 2 are paid together; the wallet answers for tick 2 and holds its answer for tick 1.
  const [t1, t2] = await Promise.all([rogue.next('tick', (t) => t.seq === 1), rogue.next('tick', (t) => t.seq === 2)])
  const preimages = new Map<number, Buffer>([
    [1, await pay(t1)],
    [2, await pay(t2)]
  ])
  const { release } = holdLookups(hashOf(t1))
  for (const seq of [1, 2])
    rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq, preimage: preimages.get(seq) as Buffer })
  // The old agent billed tick 3 meanwhile (at 6 s), leaving ticks 1 and 3 unpaid; the honest
  // session's fifth payment comes later than that, and earlier than the grace would end this one.
  await Promise.race([rogue.next('tick', (t) => t.seq === 3), honest.line(/paid tick 5:/)])

  const back = await resume(key, ack, rogue)
  const outcome = await Promise.race([
    back.next('session_resumed').then(() => 'resumed'),
    agent.exited.then((code) => `agent exited (${code})`)
  ])
  expect(outcome, agent.stderr().slice(-1500)).toBe('resumed')
  // Re-sent ticks the customer already paid are acknowledged again with the preimages it holds.
  for (const seq of [1, 2]) {
    const tick = await back.next('tick', (t) => t.seq === seq)
    back.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: tick.seq, preimage: preimages.get(seq) as Buffer })
  }
  release()
  await back.next('tick_receipt', (r) => r.seq === 2)
  expect(agent.child.exitCode).toBeNull()

  // The honest session was served and paid all along, and still is.
  const paidSoFar = [...honest.stderr().matchAll(/paid tick (\d+):/g)].length
  await honest.line(new RegExp(`paid tick ${paidSoFar + 1}:`))
  expect((await fetch(`${url}/healthz`)).status).toBe(200)
  back.send({
    type: 'session_end',
    sessionId: ack.sessionId,
    by: 'customer',
    reason: 'CUSTOMER_QUIT',
    message: '',
    ticksPaid: 0,
    msatPaid: 0,
    durationMs: 0
  })
  const ended = await agent.json(
    (e: Record<string, any>) =>
      e.event === 'session_ended' && e.session_id === Buffer.from(ack.sessionId).toString('hex')
  )
  expect(ended).toMatchObject({
    reason: 'CUSTOMER_QUIT',
    ticks_paid: 3,
    msat_paid: 3 * tickAmountMsat(5, 2),
    resumes: 1
  })
  expect(agent.stderr()).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
  honest.kill('SIGINT')
  const summary = await honest.json<{ reason: string }>((s) => 'reason' in s)
  expect(summary.reason).toBe('CUSTOMER_QUIT')
}, 90_000)

test('a resume that arrives while the invoice for the next tick is being made: the tick follows on the new channel and the session carries on', async () => {
  // Item 13. The seq was taken before the invoice existed, so session_resumed announced the one
  // after it, the tick broke the new channel's order, and the session ended PROVIDER_ERROR.
  const { agent, key } = await startAgent()
  const rogue = await RawCustomer.open(dialer, key)
  const ack = (await rogue.start()) as MessageOf<'session_ack'>
  expect(ack.type).toBe('session_ack')
  const making = holdMakeInvoice(1)
  const t0 = await rogue.next('tick', (t) => t.seq === 0)
  rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: 0, preimage: await pay(t0) })
  await rogue.next('tick_receipt', (r) => r.seq === 0)
  await making.held
  const back = await resume(key, ack, rogue)
  const resumed = await back.next('session_resumed')
  making.release()
  expect(resumed.nextSeq).toBe(1)
  const t1 = await back.next('tick', (t) => t.seq === 1)
  back.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: 1, preimage: await pay(t1) })
  await back.next('tick_receipt', (r) => r.seq === 1)
  back.send({
    type: 'session_end',
    sessionId: ack.sessionId,
    by: 'customer',
    reason: 'CUSTOMER_QUIT',
    message: '',
    ticksPaid: 0,
    msatPaid: 0,
    durationMs: 0
  })
  const ended = await agent.json(
    (e: Record<string, any>) =>
      e.event === 'session_ended' && e.session_id === Buffer.from(ack.sessionId).toString('hex')
  )
  expect(ended).toMatchObject({
    reason: 'CUSTOMER_QUIT',
    resumes: 1,
    ticks_paid: 2,
    msat_paid: 2 * tickAmountMsat(5, 2)
  })
}, 60_000)

test('one payment acknowledged on the dropped channel and again on the resumed one counts once: the ended record equals the ledger', async () => {
  // Item 17. The ack on the dropped channel was still being looked up when the resumed channel
  // acked the same tick again, and each check counted it: twice the msat the wallet moved.
  const { agent, key } = await startAgent()
  const rogue = await RawCustomer.open(dialer, key)
  const ack = (await rogue.start()) as MessageOf<'session_ack'>
  expect(ack.type).toBe('session_ack')
  const t0 = await rogue.next('tick', (t) => t.seq === 0)
  const preimage = await pay(t0)
  const hash = hashOf(t0)
  const lookup = holdLookups(hash)
  rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: 0, preimage })
  // The agent got the ack on the first channel and is asking the wallet about it: now drop.
  await lookup.asked
  const back = await resume(key, ack, rogue)
  expect((await back.next('session_resumed')).nextSeq).toBe(0)
  const again = await back.next('tick', (t) => t.seq === 0)
  expect(again.bolt11).toBe(t0.bolt11)
  back.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: 0, preimage })
  // Both acks are in before the wallet answers: the skill round trip comes back after the second.
  await back.skill()
  lookup.release()
  await back.next('tick_receipt', (r) => r.seq === 0)
  back.send({
    type: 'session_end',
    sessionId: ack.sessionId,
    by: 'customer',
    reason: 'CUSTOMER_QUIT',
    message: '',
    ticksPaid: 0,
    msatPaid: 0,
    durationMs: 0
  })
  const ended = await agent.json(
    (e: Record<string, any>) =>
      e.event === 'session_ended' && e.session_id === Buffer.from(ack.sessionId).toString('hex')
  )
  const moved = net.devnet.wallet
    .transactions('provider')
    .filter((t) => t.payment_hash === hash && t.state === 'settled')
    .reduce((n, t) => n + t.amount, 0)
  expect(moved).toBe(tickAmountMsat(5, 2))
  expect(ended).toMatchObject({ reason: 'CUSTOMER_QUIT', ticks_paid: 1, msat_paid: moved })
}, 60_000)
