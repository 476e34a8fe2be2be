// The real 2020117-agent bin against customers that cheat or attack (SPEC §4-§6, §5.3): hostile
// customers built from the protocol package (helpers/hostile-customer.ts: a raw protomux channel
// that sends any frame), an upstream in the test that counts the requests it gets, and, where the
// attack could spill over, an honest 2020117-session bin renting from the same agent at the same
// time. Every test checks that nothing is served unpaid (the upstream saw no request from the
// attacker that was not paid for), that the agent did not crash (it still answers a fresh
// skill_request and its log has no stack trace), that no stream carried data after the customer's
// paidUntil + grace beyond one window in flight (expectNoBytesAfterGrace, SPEC §4), and, where
// relevant, that the honest session's tunnel still answers GET /healthz with 200.
//
// Each test says in a comment which defence it covers and how it fails without it.

import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import {
  MESSAGE_TYPES,
  STREAM_INITIAL_WINDOW,
  decodeMessage,
  encodeHandshake,
  encodeMessage,
  tickAmountMsat,
  type MessageOf
} from '@2020117/protocol'
import { killAll, spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'
import { Dialer, RawCustomer } from './helpers/hostile-customer.js'

const PER_TICK = tickAmountMsat(5, 2) // 167 msat: 5 sats/min billed every 2 s

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
let upstream: http.Server
/** Requests the upstream got, by kind: the honest session asks for /healthz, attackers for /rogue/…. */
const hits = { healthz: 0, rogue: 0 }
/** Requests under /rogue/hold/ wait here for an answer while `holding` is set. */
const held: http.ServerResponse[] = []
let holding = false
let onHeld: (() => void) | null = null
const customers: RawCustomer[] = []
/** Bytes the upstream received on WebSockets under /rogue/stream/ws, with when they came. */
const wsReceived: Array<{ at: number; bytes: number }> = []
/** Upstream responses and sockets that stream until the test ends. */
const streaming = new Set<{ destroy(): void }>()

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      hits.healthz++
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      return
    }
    hits.rogue++
    if (req.url === '/rogue/stream/endless') return void streamForever(res, 8192)
    if (req.url === '/rogue/stream/chunk') return void res.end(Buffer.alloc(16384, 'k'))
    if (holding && req.url?.startsWith('/rogue/hold/')) {
      held.push(res)
      onHeld?.()
      return
    }
    res.end('served')
  })
  // A WebSocket that never stops talking, and records what it hears (no framing: the tunnel is opaque).
  upstream.on('upgrade', (req: http.IncomingMessage, socket: import('node:stream').Duplex) => {
    hits.rogue++
    socket.on('error', () => {})
    if (req.url !== '/rogue/stream/ws') return void socket.destroy()
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n')
    socket.on('data', (d: Buffer) => wsReceived.push({ at: Date.now(), bytes: d.byteLength }))
    streamForever(socket, 4096)
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
})

/** Writes `size` bytes every 10 ms until the connection closes or the test ends. */
function streamForever(out: http.ServerResponse | import('node:stream').Duplex, size: number): void {
  if ('writeHead' in out) out.writeHead(200, { 'content-type': 'text/event-stream' })
  const timer = setInterval(() => out.write(Buffer.alloc(size, 's')), 10)
  const entry = { destroy: () => (clearInterval(timer), out.destroy()) }
  streaming.add(entry)
  out.on('close', () => {
    clearInterval(timer)
    streaming.delete(entry)
  })
}

afterEach(async () => {
  holding = false
  onHeld = null
  for (const res of held.splice(0)) res.end('served')
  for (const s of [...streaming]) s.destroy()
  wsReceived.length = 0
  for (const c of customers.splice(0)) c.destroy()
  dialer.dropAll()
  await killAll()
})

afterAll(async () => {
  upstream?.closeAllConnections()
  upstream?.close()
})

interface Agent {
  proc: Proc
  key: string
}

async function startAgent(extra: string[] = []): Promise<Agent> {
  const { port } = upstream.address() as { port: number }
  const proc = spawnBin('agent', [
    net.flag,
    `--processor=http://127.0.0.1:${port}`,
    '--sats-per-minute=5',
    '--tick-seconds=2',
    '--grace-seconds=1',
    '--json',
    ...extra
  ])
  const ready = await proc.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  return { proc, key: ready.swarm_key }
}

async function hostile(agent: Agent, opts: Parameters<typeof RawCustomer.open>[2] = {}): Promise<RawCustomer> {
  const customer = await RawCustomer.open(dialer, agent.key, opts)
  customers.push(customer)
  return customer
}

/** A session that was acknowledged: its ack, or the test fails with the reject. */
async function session(customer: RawCustomer): Promise<MessageOf<'session_ack'>> {
  const answer = await customer.start()
  if (answer.type !== 'session_ack') throw new Error(`session refused: ${answer.code} ${answer.message}`)
  return answer
}

/** Pays a tick through the devnet wallet, as an honest customer would, and returns the preimage. */
async function pay(tick: MessageOf<'tick'>): Promise<Buffer> {
  const paid = await net.devnet.wallet.payInvoice('customer', tick.bolt11)
  return Buffer.from(paid.preimage, 'hex')
}

/** Pays every tick the agent sends on `customer`, oldest first, and acknowledges it. */
function payEveryTick(customer: RawCustomer, ack: MessageOf<'session_ack'>): void {
  let chain = Promise.resolve()
  let next = 0
  const onTick = () => {
    for (const tick of customer.all('tick').filter((t) => t.seq >= next)) {
      next = tick.seq + 1
      chain = chain
        .then(async () => {
          const preimage = await pay(tick)
          if (!customer.isClosed) customer.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: tick.seq, preimage })
        })
        // A payment cut short by the test's end (the wallet closing) is no failure of the agent.
        .catch(() => {})
    }
  }
  void (async () => {
    while (await customer.until(() => customer.all('tick').some((t) => t.seq >= next))) onTick()
  })()
}

interface Honest {
  proc: Proc
  url: string
}

/** An honest customer (the real 2020117-session bin) renting from the same agent. */
async function startHonest(agent: Agent): Promise<Honest> {
  const proc = spawnBin('session', [
    net.flag,
    '--budget=1000',
    '--port=0',
    '--yes',
    '--no-repl',
    `--swarm-key=${agent.key}`
  ])
  const line = await proc.line(/tunnel open: http:\/\/127\.0\.0\.1:\d+/)
  return { proc, url: /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] as string }
}

/** The honest session still runs, was never ended, and its tunnel answers GET /healthz. */
async function expectHonestServes(honest: Honest): Promise<void> {
  const before = hits.healthz
  const res = await fetch(`${honest.url}/healthz`)
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ ok: true })
  expect(hits.healthz).toBe(before + 1)
  expect(honest.proc.child.exitCode).toBeNull()
  expect(honest.proc.stdout()).not.toMatch(/session ended/)
  expect(honest.proc.stderr()).not.toMatch(/ended by the provider/)
}

/** The agent process is alive, serves a brand-new connection, and logged no stack trace. */
async function expectAgentAlive(agent: Agent): Promise<void> {
  expect(agent.proc.child.exitCode).toBeNull()
  const fresh = await hostile(agent)
  const response = await fresh.skill()
  expect(response.offers).toEqual([{ kind: 5200, satsPerMinute: 5 }])
  fresh.close()
  expect(agent.proc.stderr()).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
  expect(agent.proc.stderr()).not.toMatch(/Unhandled|uncaught/i)
}

/**
 * No stream of any hostile customer of the test carried data after its paidUntil + grace (SPEC
 * §4, cut-off at the grace), beyond what was in flight: one window per stream.
 */
function expectNoBytesAfterGrace(): void {
  for (const c of customers) {
    for (const [id, bytes] of c.bytesAfterGrace().late)
      expect(bytes, `stream ${id} got ${bytes} bytes after paidUntil + grace`).toBeLessThanOrEqual(
        STREAM_INITIAL_WINDOW
      )
  }
}

/** The agent's JSON events (--json stdout) of one kind. */
function events(agent: Agent, event: string): Array<Record<string, any>> {
  return agent.proc
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>)
    .filter((e) => e.event === event)
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const request = (path: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`)

test('a random preimage ends the session UNPAID at once: no receipt, and the stream sent right behind it is never served', async () => {
  // Defence: ProviderSession.verify checks sha256(preimage) against the bill's payment hash before
  // anything counts. Without it the session would end only after the wallet lookup, with another
  // message ("does not show ... as settled"), and the message assertion fails; without the lookup
  // as well, the fake payment is receipted and the receipt assertion fails.
  const agent = await startAgent()
  const honest = await startHonest(agent)
  const rogue = await hostile(agent)
  const ack = await session(rogue)
  const tick = await rogue.next('tick')
  const before = hits.rogue

  rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: tick.seq, preimage: randomBytes(32) })
  rogue.send({ type: 'stream_open', streamId: 1 })
  rogue.send({ type: 'stream_data', streamId: 1, data: request('/rogue/fake-preimage') })

  const end = await rogue.next('session_end')
  expect(end).toMatchObject({ by: 'provider', reason: 'UNPAID', ticksPaid: 0, msatPaid: 0 })
  expect(end.message).toMatch(/preimage/)
  await rogue.closed
  expect(rogue.all('tick_receipt')).toEqual([])
  expect(rogue.all('stream_data')).toEqual([])
  const ended = await agent.proc.json(
    (e: Record<string, any>) => e.event === 'session_ended' && e.session_id === hex(ack.sessionId)
  )
  expect(ended).toMatchObject({ reason: 'UNPAID', by: 'provider', ticks_paid: 0, msat_paid: 0 })
  expect(hits.rogue).toBe(before)

  await expectHonestServes(honest)
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
})

test("a repeated preimage is refused: tick 0's ack replayed is UNEXPECTED_MESSAGE, and tick 0's preimage for tick 1 ends the session UNPAID", async () => {
  // Defences: (a) the channel's state machine accepts a tick_ack only for the oldest unpaid tick,
  // so a replayed ack closes the channel with UNEXPECTED_MESSAGE (without it the replay would be
  // dropped silently by the paid bill, and no error frame comes: the first expect fails);
  // (b) each bill is checked against its own payment hash: tick 1 acked with tick 0's preimage
  // ends the session UNPAID (without the hash check the wallet lookup still refuses it, with a
  // message that is not about the preimage; without both, tick 1 would count: ticksPaid 2).
  const agent = await startAgent()

  // (a) Pay tick 0 for real, then send the very same tick_ack again.
  const a = await hostile(agent)
  const ackA = await session(a)
  const tickA = await a.next('tick', (t) => t.seq === 0)
  const preimageA = await pay(tickA)
  a.send({ type: 'tick_ack', sessionId: ackA.sessionId, seq: 0, preimage: preimageA })
  await a.next('tick_receipt', (r) => r.seq === 0)
  a.send({ type: 'tick_ack', sessionId: ackA.sessionId, seq: 0, preimage: preimageA })
  const error = await a.next('error')
  expect(error.code).toBe('UNEXPECTED_MESSAGE')
  await a.closed
  expect(a.all('tick_receipt')).toHaveLength(1)
  const endedA = await agent.proc.json(
    (e: Record<string, any>) => e.event === 'session_ended' && e.session_id === hex(ackA.sessionId)
  )
  expect(endedA).toMatchObject({ reason: 'UNEXPECTED_MESSAGE', ticks_paid: 1, msat_paid: PER_TICK })

  // (b) Pay tick 0 for real, then acknowledge tick 1 with tick 0's preimage.
  const b = await hostile(agent)
  const ackB = await session(b)
  const tick0 = await b.next('tick', (t) => t.seq === 0)
  const preimage0 = await pay(tick0)
  b.send({ type: 'tick_ack', sessionId: ackB.sessionId, seq: 0, preimage: preimage0 })
  await b.next('tick_receipt', (r) => r.seq === 0)
  const tick1 = await b.next('tick', (t) => t.seq === 1)
  expect(tick1.bolt11).not.toBe(tick0.bolt11)
  b.send({ type: 'tick_ack', sessionId: ackB.sessionId, seq: 1, preimage: preimage0 })
  const end = await b.next('session_end')
  expect(end).toMatchObject({ by: 'provider', reason: 'UNPAID', ticksPaid: 1, msatPaid: PER_TICK })
  expect(end.message).toMatch(/preimage for tick 1/)
  expect(b.all('tick_receipt').map((r) => r.seq)).toEqual([0])
  const endedB = await agent.proc.json(
    (e: Record<string, any>) => e.event === 'session_ended' && e.session_id === hex(ackB.sessionId)
  )
  expect(endedB).toMatchObject({ reason: 'UNPAID', ticks_paid: 1, msat_paid: PER_TICK })

  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
})

test('a preimage sent after the session ended UNPAID counts for nothing: not on the old channel, not in a new session', async () => {
  // Defences: after session_end the provider closes the channel and its session is over, so a late
  // tick_ack is dropped (protomux ignores frames for a closed channel; SessionChannel ignores frames
  // after session_end; ProviderSession.verify ignores acks once the session has ended); and bills
  // belong to one session: another session's id is UNKNOWN_SESSION, and an old preimage does not
  // match a new bill's hash (UNPAID). Were the late ack credited, the agent's summary would show a
  // paid tick for the ended session (last expect); were bills shared between sessions, the new
  // session would receipt the old preimage.
  const agent = await startAgent()
  const rogue = await hostile(agent)
  const ack = await session(rogue)
  const tick = await rogue.next('tick')
  const end = await rogue.next('session_end')
  expect(end).toMatchObject({ by: 'provider', reason: 'UNPAID', ticksPaid: 0 })
  expect(end.message).toMatch(/not paid within 2 s/)
  await rogue.closed

  // The customer pays after all, and presents the proof on the connection it still holds.
  const preimage = await pay(tick)
  const lateAck = encodeMessage({ type: 'tick_ack', sessionId: ack.sessionId, seq: tick.seq, preimage })
  rogue.sendAfterClose(lateAck)
  // The agent handles a connection's frames in order: once it has refused a new channel opened
  // after the late frame (it runs one session channel per connection), it has seen the late frame.
  const again = RawCustomer.reopen(rogue.conn)
  await again.closed
  expect(again.isOpen).toBe(false)
  expect(again.received).toEqual([])
  expect(rogue.conn.destroyed).toBe(false)

  // On a new connection, in idle: no session to pay.
  const idle = await hostile(agent)
  idle.sendFrame(lateAck)
  expect((await idle.next('error')).code).toBe('UNEXPECTED_MESSAGE')

  // In a new session, under the old session id, then under the new one.
  const other = await hostile(agent)
  await session(other)
  await other.next('tick')
  other.sendFrame(lateAck)
  expect((await other.next('error')).code).toBe('UNKNOWN_SESSION')

  const replay = await hostile(agent)
  const ack2 = await session(replay)
  const tick2 = await replay.next('tick', (t) => t.seq === 0)
  replay.send({ type: 'tick_ack', sessionId: ack2.sessionId, seq: tick2.seq, preimage })
  const end2 = await replay.next('session_end')
  expect(end2).toMatchObject({ reason: 'UNPAID', ticksPaid: 0 })
  expect(replay.all('tick_receipt')).toEqual([])

  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
  agent.proc.kill('SIGTERM')
  const summary = await agent.proc.json((e: Record<string, any>) => e.event === 'summary')
  const first = (summary.sessions as Array<Record<string, any>>).find((s) => s.session_id === hex(ack.sessionId))
  expect(first).toMatchObject({ reason: 'UNPAID', ticks_paid: 0, msat_paid: 0 })
  expect(summary.msat_earned).toBe(0)
})

test('tunnel streams opened with raw frames before any payment are reset PAYMENT_REQUIRED; their data never reaches the upstream', async () => {
  // Defence: the tunnel asks ProviderSession.admit for every stream_open, which refuses until the
  // first receipt. Without it the streams are served: no PAYMENT_REQUIRED reset (first expect), and
  // the upstream sees the requests.
  const agent = await startAgent()
  const honest = await startHonest(agent)
  const rogue = await hostile(agent)
  const ack = await session(rogue)
  await rogue.next('tick')
  const before = hits.rogue

  for (let id = 1; id <= 8; id++) {
    rogue.send({ type: 'stream_open', streamId: id })
    rogue.send({ type: 'stream_data', streamId: id, data: request(`/rogue/unpaid/${id}`) })
    if (id % 2 === 0) rogue.send({ type: 'stream_end', streamId: id })
  }
  await rogue.until(() => rogue.all('stream_reset').length >= 8)
  expect(rogue.all('stream_reset').map((r) => [r.streamId, r.code])).toEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map((id) => [id, 'PAYMENT_REQUIRED'])
  )
  // Data for a refused stream is late, not hostile: the channel lives on and still answers.
  await rogue.skill()
  expect(rogue.all('stream_data')).toEqual([])
  expect(rogue.all('tick_receipt')).toEqual([])

  // Data for a stream id never opened is a violation: the channel closes, the agent does not.
  rogue.send({ type: 'stream_data', streamId: 99, data: request('/rogue/never-opened') })
  expect((await rogue.next('error')).code).toBe('UNEXPECTED_MESSAGE')
  await rogue.closed
  const ended = await agent.proc.json(
    (e: Record<string, any>) => e.event === 'session_ended' && e.session_id === hex(ack.sessionId)
  )
  expect(ended).toMatchObject({ ticks_paid: 0, msat_paid: 0 })
  expect(hits.rogue).toBe(before)

  await expectHonestServes(honest)
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
})

test('a customer that stops paying: from paidUntil + grace no open stream carries data either way (an endless download, a keep-alive connection, a WebSocket), and the session ends UNPAID', async () => {
  // Defence: the tunnel's cut-off at the grace (SPEC §4): ProviderSession.carries() turns false at
  // paidUntil + G, and the tunnel then sends no data, delivers none to the upstream and grants no
  // credit. Without it only new streams were refused, and these three were served until the session
  // ended at 2G: about a second more of each, far over one window (the byte counts fail).
  const agent = await startAgent()
  const rogue = await hostile(agent)
  const ack = await session(rogue)
  const tick0 = await rogue.next('tick', (t) => t.seq === 0)
  rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: 0, preimage: await pay(tick0) })
  const receipt = await rogue.next('tick_receipt', (r) => r.seq === 0)
  // Stream 1: an endless download (SSE-like). Stream 2: 400 keep-alive requests, pipelined on one
  // connection. Stream 3: a WebSocket, talking both ways. The customer reads as fast as it can.
  for (const id of [1, 2, 3]) rogue.autoCredit(id)
  rogue.send({ type: 'stream_open', streamId: 1 })
  rogue.send({ type: 'stream_data', streamId: 1, data: request('/rogue/stream/endless') })
  rogue.send({ type: 'stream_open', streamId: 2 })
  rogue.send({
    type: 'stream_data',
    streamId: 2,
    data: Buffer.concat(Array.from({ length: 400 }, () => request('/rogue/stream/chunk')))
  })
  rogue.send({ type: 'stream_open', streamId: 3 })
  rogue.send({
    type: 'stream_data',
    streamId: 3,
    data: Buffer.from(
      'GET /rogue/stream/ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n'
    )
  })
  const talk = setInterval(() => {
    if (!rogue.isClosed && rogue.sendWindow(3) >= 4096)
      rogue.send({ type: 'stream_data', streamId: 3, data: Buffer.alloc(4096, 'c') })
  }, 10)
  try {
    const end = await rogue.next('session_end')
    expect(end).toMatchObject({ by: 'provider', reason: 'UNPAID', ticksPaid: 1 })
  } finally {
    clearInterval(talk)
  }
  const { late, cutOffAt } = rogue.bytesAfterGrace()
  expect(cutOffAt).toBe(rogue.receivedAt[rogue.received.indexOf(ack)]! + (receipt.paidUntil + ack.graceSeconds) * 1000)
  const cut = cutOffAt as number
  // Every stream was busy while paid, so the test saw real traffic stop.
  const before = (id: number) =>
    rogue.received.filter((m, i) => m.type === 'stream_data' && m.streamId === id && rogue.receivedAt[i]! <= cut).length
  for (const id of [1, 2, 3]) expect(before(id), `stream ${id} carried nothing while paid`).toBeGreaterThan(0)
  expect(wsReceived.filter((r) => r.at <= cut).length).toBeGreaterThan(0)
  for (const id of [1, 2, 3])
    expect(late.get(id) ?? 0, `stream ${id}: bytes delivered after paidUntil + grace`).toBeLessThanOrEqual(
      STREAM_INITIAL_WINDOW
    )
  const upstreamLate = wsReceived.filter((r) => r.at > cut).reduce((n, r) => n + r.bytes, 0)
  expect(upstreamLate, 'WebSocket bytes the upstream received after paidUntil + grace').toBeLessThanOrEqual(
    STREAM_INITIAL_WINDOW
  )
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
})

test('3000 streams at once from a paying customer: at most 256 are served, the rest are reset, and an honest session is unaffected', async () => {
  // Defence: MAX_OPEN_STREAMS in the tunnel. Without it all 3000 streams reach the upstream and
  // the served count is far above 256.
  const agent = await startAgent()
  const honest = await startHonest(agent)
  const rogue = await hostile(agent)
  const ack = await session(rogue)
  payEveryTick(rogue, ack)
  await rogue.next('tick_receipt', (r) => r.seq === 0)
  const before = hits.rogue

  const N = 3000
  for (let id = 1; id <= N; id++) {
    rogue.send({ type: 'stream_open', streamId: id })
    // keep-alive: a served stream stays open after its response, as a browser's would.
    rogue.send({ type: 'stream_data', streamId: id, data: request(`/rogue/flood/${id}`) })
  }
  // Every stream is either answered (HTTP response data) or reset.
  const answered = () => new Set(rogue.all('stream_data').map((d) => d.streamId))
  const reset = () => new Set(rogue.all('stream_reset').map((r) => r.streamId))
  const accounted = await rogue.until(() => answered().size + reset().size >= N)
  expect(answered().size).toBeLessThanOrEqual(256)
  expect(accounted).toBe(true)
  expect(reset().size).toBeGreaterThanOrEqual(N - 256)
  for (const r of rogue.all('stream_reset')) expect(['TOO_MANY_STREAMS', 'PAYMENT_REQUIRED']).toContain(r.code)
  expect(rogue.all('stream_reset').filter((r) => r.code === 'TOO_MANY_STREAMS').length).toBeGreaterThan(0)
  expect(hits.rogue - before).toBeLessThanOrEqual(256)
  expect(hits.rogue - before).toBe(answered().size)
  // Each served stream got a whole response (head and body may come in separate frames).
  const responses = () => {
    const byStream = new Map<number, string>()
    for (const d of rogue.all('stream_data'))
      byStream.set(d.streamId, (byStream.get(d.streamId) ?? '') + Buffer.from(d.data).toString('latin1'))
    return [...byStream.values()]
  }
  expect(await rogue.until(() => responses().every((r) => r.endsWith('served')))).toBe(true)
  for (const r of responses()) expect(r).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nserved$/)
  expect(rogue.isClosed).toBe(false)

  await expectHonestServes(honest)
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
}, 60_000)

test('unknown message types and garbage bodies close the channel with UNKNOWN_MESSAGE / DECODE_ERROR; the agent serves on', async () => {
  // Defence: decodeMessage refuses unknown types and malformed bodies with a ProtocolError, and
  // SessionChannel answers it with an error frame and closes only the channel. Were a decoder error
  // to escape into protomux, it would destroy the connection without an error frame (the code
  // assertions fail); were it to escape further, the agent would crash (expectAgentAlive fails).
  const agent = await startAgent(['--max-sessions=64'])
  const honest = await startHonest(agent)
  // The ids the brief reserved (10-15, 21-31) and more, minus any a later protocol version defined
  // (10 and 11 are session_resume / session_resumed now).
  const ids = [...range(10, 15), ...range(21, 40), 200].filter((id) => MESSAGE_TYPES[id] === undefined)
  expect(ids.length).toBeGreaterThan(20)
  const cases: Array<{ frame: Uint8Array; active: boolean }> = ids.map((id, i) => ({
    frame: Buffer.from([id, ...randomBytes(i % 9)]),
    active: i % 4 === 0
  }))
  for (const frame of [
    Buffer.from([]), // empty: no type at all
    Buffer.from([1, 0xff, 0xff]), // skill_request whose kind announces 8 bytes and has 2
    Buffer.from([0xfd, 0x01, 0x00]), // type 1 as a non-minimal varint
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]), // type above 2^53
    Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff]), // type 2^32 - 1
    Buffer.concat([Buffer.from([3]), Buffer.from('garbage body that is no session_start at all')]),
    Buffer.concat([Buffer.from([7]), Buffer.alloc(16), Buffer.from([0]), Buffer.alloc(32, 7), Buffer.from([0])]) // tick_ack + 1 trailing byte
  ]) {
    cases.push({ frame, active: false }, { frame, active: true })
  }
  const before = hits.rogue

  const results = await Promise.all(
    cases.map(async ({ frame, active }) => {
      const rogue = await hostile(agent)
      if (active) await session(rogue)
      rogue.sendFrame(frame)
      const error = await rogue.next('error')
      await rogue.closed
      // What our own decoder says about the frame is what the agent must answer.
      let expected = 'ACCEPTED'
      try {
        decodeMessage(frame)
      } catch (err) {
        expected = (err as { code: string }).code
      }
      return { frame: Buffer.from(frame).toString('hex'), active, got: error.code, expected }
    })
  )
  for (const r of results) expect(r, JSON.stringify(r)).toMatchObject({ got: r.expected })
  const codes = new Set(results.map((r) => r.got))
  expect(codes.has('UNKNOWN_MESSAGE')).toBe(true)
  expect(codes.has('DECODE_ERROR')).toBe(true)
  expect(
    [...codes].every((code) => ['UNKNOWN_MESSAGE', 'DECODE_ERROR', 'LIMIT_EXCEEDED', 'INVALID_VALUE'].includes(code))
  ).toBe(true)
  expect(results.filter((r) => r.got === 'UNKNOWN_MESSAGE').length).toBeGreaterThanOrEqual(ids.length)
  expect(hits.rogue).toBe(before)

  await expectHonestServes(honest)
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
}, 60_000)

test('a session_start flood on one channel: the second one closes the channel UNEXPECTED_MESSAGE, and one session starts', async () => {
  // Defence: the channel's state machine allows session_start only in idle. Without it every
  // session_start reaches the provider, which starts a session for each: more than one session_ack
  // (first expect) and as many session_started events.
  const agent = await startAgent()
  const honest = await startHonest(agent)
  const honestStart = (await agent.proc.json((e: Record<string, any>) => e.event === 'session_started'))
    .session_id as string
  const rogue = await hostile(agent)
  const start = {
    type: 'session_start',
    kind: 5200,
    budgetSats: 1000,
    maxSatsPerMinute: 5,
    paymentMethod: 'bolt11',
    customerPubkey: null
  } as const
  for (let i = 0; i < 50; i++) rogue.send(start)
  await rogue.until(() => rogue.all('session_ack').length > 1)
  expect(rogue.all('session_ack')).toHaveLength(1)
  expect((await rogue.next('error')).code).toBe('UNEXPECTED_MESSAGE')
  const ack = rogue.all('session_ack')[0] as MessageOf<'session_ack'>
  await agent.proc.json((e: Record<string, any>) => e.event === 'session_ended' && e.session_id === hex(ack.sessionId))
  // The honest session's, and the one of this channel.
  expect(events(agent, 'session_started').map((e) => e.session_id)).toEqual([honestStart, hex(ack.sessionId)])

  await expectHonestServes(honest)
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
})

test('30 connections each sending session_start against --max-sessions=4: at most 4 sessions at once, the others get NO_CAPACITY, the honest session keeps its slot', async () => {
  // Defence: the provider's capacity check. Without it every connection gets a session_ack (the
  // NO_CAPACITY count fails) and more than 4 sessions run at once (the concurrency expect fails).
  const agent = await startAgent(['--max-sessions=4'])
  const honest = await startHonest(agent)
  const before = hits.rogue
  await agent.proc.json((e: Record<string, any>) => e.event === 'session_started')

  // Every connection's channel is open before the first session_start, so the starts all arrive
  // together rather than spread over the dials.
  const rogues = await Promise.all(Array.from({ length: 30 }, () => hostile(agent)))
  const answers = await Promise.all(rogues.map((r) => r.start()))
  const acks = answers.filter((a): a is MessageOf<'session_ack'> => a.type === 'session_ack')
  const rejects = answers.filter((a): a is MessageOf<'session_reject'> => a.type === 'session_reject')
  expect(acks.length + rejects.length).toBe(30)
  expect(acks.length).toBeGreaterThanOrEqual(1)
  expect(acks.length).toBeLessThanOrEqual(3) // the honest session holds the 4th slot
  expect(rejects.length).toBeGreaterThanOrEqual(27)
  for (const r of rejects) expect(r.code).toBe('NO_CAPACITY')

  // Replay the agent's own record: sessions running at once never exceeded 4.
  for (const a of acks)
    await agent.proc.json(
      (e: Record<string, any>) => e.event === 'session_started' && e.session_id === hex(a.sessionId)
    )
  let running = 0
  let most = 0
  for (const line of agent.proc.stdout().split('\n')) {
    if (!line.startsWith('{')) continue
    const e = JSON.parse(line) as { event: string }
    if (e.event === 'session_started') most = Math.max(most, ++running)
    if (e.event === 'session_ended') running--
  }
  expect(most).toBeLessThanOrEqual(4)
  expect(hits.rogue).toBe(before)

  await expectHonestServes(honest)
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
}, 60_000)

// Guards a crash found here with the gateway of the time: its http.Agent had maxSockets 256, shared
// by every session; a request beyond it waited for a socket, and http-proxy's 'proxyReq' then fired
// on a request whose headers were already rendered, so rewriting a header there threw
// ERR_HTTP_HEADERS_SENT from a nextTick and the process exited. One session cannot get past 256
// (MAX_OPEN_STREAMS); two paying sessions (or one attacker and any honest traffic) can.
test('two paying sessions with 300 slow requests between them: the agent survives when the upstream answers them', async () => {
  const agent = await startAgent(['--max-sessions=8'])
  const rogues: RawCustomer[] = []
  for (let i = 0; i < 2; i++) {
    const rogue = await hostile(agent)
    const ack = await session(rogue)
    payEveryTick(rogue, ack)
    await rogue.next('tick_receipt', (r) => r.seq === 0)
    rogues.push(rogue)
  }
  holding = true
  const all256 = new Promise<void>((resolve) => (onHeld = () => held.length >= 256 && resolve()))
  for (const [i, rogue] of rogues.entries()) {
    for (let id = 1; id <= 150; id++) {
      rogue.send({ type: 'stream_open', streamId: id })
      rogue.send({ type: 'stream_data', streamId: id, data: request(`/rogue/hold/${i}/${id}`) })
    }
  }
  // 256 requests reach the upstream and wait there; the other 44 wait for a socket in the gateway.
  await all256
  holding = false
  onHeld = null
  for (const res of held.splice(0)) res.end('served')
  const answered = () => rogues.reduce((n, r) => n + new Set(r.all('stream_data').map((d) => d.streamId)).size, 0)
  const outcome = await Promise.race([
    Promise.all(rogues.map((r) => r.until(() => answered() >= 300))).then(() => 'answered'),
    agent.proc.exited.then((code) => `agent exited (${code})`)
  ])
  expect(outcome, agent.proc.stderr().slice(-1500)).toBe('answered')
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
}, 60_000)

// Frames pipelined with a bad handshake must not change the answer: the peer hears the
// handshake's error (VERSION_MISMATCH / ROLE_MISMATCH / DECODE_ERROR, SPEC §2), not
// UNEXPECTED_MESSAGE for the frames that arrived in the same tick.
test('a bad handshake pipelined with frames is refused with the handshake error, not UNEXPECTED_MESSAGE', async () => {
  const agent = await startAgent()
  const conn = await dialer.connect(agent.key)
  const rogue = RawCustomer.reopen(conn, encodeHandshake({ version: 2, role: 'customer', software: 'pipelined/test' }))
  customers.push(rogue)
  for (let i = 0; i < 4; i++) rogue.send({ type: 'skill_request', kind: 5200 })
  const error = await rogue.next('error')
  expect(error.code, error.message).toBe('VERSION_MISMATCH')
  expectNoBytesAfterGrace()
  await expectAgentAlive(agent)
})

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}
