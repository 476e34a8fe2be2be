// The real 2020117-agent bin when the wallet confirms tick n+1 before tick n and the customer then
// resumes (issue 10, item 9): nothing a peer drives may throw out of a listener, a failure ends one
// session only, and every other session goes on being served and paid. A hostile customer (raw
// frames) drives the resume; an honest 2020117-session bin rents from the same agent throughout.
// The wallet's reordering is real: the devnet wallet runs in this process, and the test holds its
// answer to lookup_invoice for one payment hash.

import http from 'node:http'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { tickAmountMsat, type MessageOf } from '@2020117/protocol'
import { killAll, spawnBin, startTestNetwork, type TestNetwork } from '@2020117/testkit'
import { Dialer, RawCustomer } from './helpers/hostile-customer.js'

let net: TestNetwork
let dialer: Dialer
let upstream: http.Server

beforeAll(async () => {
  net = await startTestNetwork()
  dialer = new Dialer(net.devnet.state.bootstrap)
  upstream = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'))
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  await killAll()
  await dialer?.destroy()
  upstream?.close()
  await net?.close()
})

/** Holds the devnet wallet's lookup_invoice answers for `hash` until the returned release is called. */
function holdLookups(hash: string): () => void {
  const ledger = (net.devnet.wallet as unknown as { ledger: { lookupInvoice(name: string, q: { paymentHash?: string }): unknown } }).ledger
  const original = ledger.lookupInvoice.bind(ledger)
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  ledger.lookupInvoice = (name, q) => (q.paymentHash === hash ? held.then(() => original(name, q)) : original(name, q))
  return () => {
    ledger.lookupInvoice = original
    release()
  }
}

const pay = async (tick: MessageOf<'tick'>) => Buffer.from((await net.devnet.wallet.payInvoice('customer', tick.bolt11)).preimage, 'hex')
const hashOf = (tick: MessageOf<'tick'>) => net.devnet.wallet.transactions('customer').find((t) => t.invoice === tick.bolt11)?.payment_hash as string

test('the wallet confirms tick n+1 before tick n, the customer resumes: the agent does not crash, that session goes on, and an honest session is served and paid throughout', async () => {
  const { port } = upstream.address() as { port: number }
  const agent = spawnBin('agent', [net.flag, `--processor=http://127.0.0.1:${port}`, '--sats-per-minute=5', '--tick-seconds=2', '--grace-seconds=6', '--json'])
  const key = (await agent.json<{ event: string; swarmKey: string }>((e) => e.event === 'ready')).swarmKey
  const honest = spawnBin('session', [net.flag, '--budget=1000', '--port=0', '--yes', '--no-repl', '--json', `--swarm-key=${key}`])
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(await honest.line(/tunnel open: http:\/\/127\.0\.0\.1:\d+/))?.[1] as string

  const rogue = await RawCustomer.open(dialer, key)
  const answer = await rogue.start({ maxSatsPerMinute: 5 })
  if (answer.type !== 'session_ack') throw new Error(`session refused: ${answer.code}`)
  const ack = answer
  const t0 = await rogue.next('tick', (t) => t.seq === 0)
  rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: 0, preimage: await pay(t0) })
  await rogue.next('tick_receipt', (r) => r.seq === 0)
  // Ticks 1 and 2 are paid together; the wallet answers for tick 2 and holds its answer for tick 1.
  const [t1, t2] = await Promise.all([rogue.next('tick', (t) => t.seq === 1), rogue.next('tick', (t) => t.seq === 2)])
  const preimages = new Map<number, Buffer>([[1, await pay(t1)], [2, await pay(t2)]])
  const release = holdLookups(hashOf(t1))
  for (const seq of [1, 2]) rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq, preimage: preimages.get(seq) as Buffer })
  // The old agent billed tick 3 meanwhile (at 6 s), leaving ticks 1 and 3 unpaid; the honest
  // session's fifth payment comes later than that, and earlier than the grace would end this one.
  await Promise.race([rogue.next('tick', (t) => t.seq === 3), honest.line(/paid tick 5:/)])

  rogue.destroy()
  const back = await RawCustomer.open(dialer, key)
  back.send({ type: 'session_resume', sessionId: ack.sessionId, resumeSecret: ack.resumeSecret })
  const outcome = await Promise.race([back.next('session_resumed').then(() => 'resumed'), agent.exited.then((code) => `agent exited (${code})`)])
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
  back.send({ type: 'session_end', sessionId: ack.sessionId, by: 'customer', reason: 'CUSTOMER_QUIT', message: '', ticksPaid: 0, msatPaid: 0, durationMs: 0 })
  const ended = await agent.json((e: Record<string, any>) => e.event === 'session_ended' && e.sessionId === Buffer.from(ack.sessionId).toString('hex'))
  expect(ended).toMatchObject({ reason: 'CUSTOMER_QUIT', ticksPaid: 3, msatPaid: 3 * tickAmountMsat(5, 2), resumes: 1 })
  expect(agent.stderr()).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
  honest.kill('SIGINT')
  const summary = await honest.json<{ reason: string }>((s) => 'reason' in s)
  expect(summary.reason).toBe('CUSTOMER_QUIT')
}, 90_000)
