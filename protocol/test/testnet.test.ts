// Every message type over a real Hyperswarm connection, on a local HyperDHT testnet bound to
// 127.0.0.1 (never the public bootstrap nodes).

import { once } from 'node:events'
import createTestnet, { type Testnet } from 'hyperdht/testnet.js'
import Hyperswarm from 'hyperswarm'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { SessionChannel } from '../src/channel.js'
import { MESSAGE_IDS, type Message, type MessageType } from '../src/messages.js'
import { kindTopic } from '../src/topic.js'

let testnet: Testnet
const swarms: Hyperswarm[] = []

beforeAll(async () => {
  testnet = await createTestnet(3, { host: '127.0.0.1' })
})

afterAll(async () => {
  await Promise.all(swarms.map((s) => s.destroy()))
  await testnet.destroy()
})

function swarm(): Hyperswarm {
  const s = new Hyperswarm({ dht: testnet.createNode() })
  s.on('connection', (conn: any) => conn.on('error', () => {}))
  swarms.push(s)
  return s
}

test('every message type crosses a Hyperswarm connection on the local testnet', async () => {
  const provider = swarm()
  const customer = swarm()
  const topic = kindTopic(5200)

  const providerChannel = new Promise<SessionChannel>((resolve) =>
    provider.once('connection', (conn: any) =>
      resolve(new SessionChannel(conn, { role: 'provider', software: 'test-agent' }))
    )
  )
  const customerChannel = new Promise<SessionChannel>((resolve) =>
    customer.once('connection', (conn: any) =>
      resolve(new SessionChannel(conn, { role: 'customer', software: 'test-session' }))
    )
  )
  await provider.join(topic, { server: true, client: false }).flushed()
  customer.join(topic, { server: false, client: true })

  const [p, c] = await Promise.all([providerChannel, customerChannel])
  await Promise.all([p.opened(), c.opened()])
  expect(c.remote?.software).toBe('test-agent')

  const seen = new Set<MessageType>()
  const record = (ch: SessionChannel) => ch.on('message', (m: Message) => seen.add(m.type))
  record(p)
  record(c)

  const sid = new Uint8Array(16).fill(1)
  const exchange = async (from: SessionChannel, to: SessionChannel, msg: Message) => {
    const got = once(to, msg.type)
    from.send(msg)
    const [received] = await got
    expect(received.type).toBe(msg.type)
    return received as Message
  }

  await exchange(c, p, { type: 'skill_request', kind: 5200 })
  const skill = await exchange(p, c, {
    type: 'skill_response',
    manifest: JSON.stringify({ name: 'demo' }),
    offers: [{ kind: 5200, satsPerMinute: 5 }],
    tickSeconds: 2,
    paymentMethods: ['bolt11'],
    capacity: 1,
    maxSessions: 1,
    identity: null
  })
  expect(skill).toMatchObject({ offers: [{ kind: 5200, satsPerMinute: 5 }] })
  const start: Message = {
    type: 'session_start',
    kind: 5200,
    budgetSats: 500,
    maxSatsPerMinute: 5,
    paymentMethod: 'bolt11',
    customerPubkey: null
  }
  await exchange(c, p, start)
  await exchange(p, c, { type: 'session_reject', code: 'NO_CAPACITY', message: 'try again' })
  await exchange(c, p, start)
  await exchange(p, c, {
    type: 'session_ack',
    sessionId: sid,
    satsPerMinute: 5,
    tickSeconds: 2,
    graceSeconds: 5,
    resumeSecret: new Uint8Array(32).fill(2)
  })
  await exchange(p, c, {
    type: 'tick',
    sessionId: sid,
    seq: 0,
    amountMsat: 167,
    bolt11: 'lnbcrt1670p1',
    periodStart: 0,
    periodEnd: 2
  })
  await exchange(c, p, { type: 'tick_ack', sessionId: sid, seq: 0, preimage: new Uint8Array(32).fill(3) })
  await exchange(p, c, { type: 'tick_receipt', sessionId: sid, seq: 0, paidUntil: 2 })
  await exchange(c, p, { type: 'stream_open', streamId: 1 })
  const data = await exchange(c, p, {
    type: 'stream_data',
    streamId: 1,
    data: new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')
  })
  expect(new TextDecoder().decode((data as { data: Uint8Array }).data)).toBe('GET / HTTP/1.1\r\n\r\n')
  await exchange(p, c, { type: 'stream_credit', streamId: 1, bytes: 18 })
  await exchange(p, c, { type: 'stream_end', streamId: 1 })
  await exchange(c, p, { type: 'stream_reset', streamId: 1, code: 'CANCELLED', message: '' })
  const closed = once(p, 'close')
  await exchange(c, p, {
    type: 'session_end',
    sessionId: sid,
    by: 'customer',
    reason: 'CUSTOMER_QUIT',
    message: '',
    ticksPaid: 1,
    msatPaid: 167,
    durationMs: 100
  })
  expect((await closed)[0]).toBeNull()

  // A second channel on the same connection carries the last type, error, which closes it.
  const mux = c.mux
  const p2 = new Promise<SessionChannel>((resolve) => {
    p.mux.pair({ protocol: '2020117/session', id: new Uint8Array([2]) }, () =>
      resolve(new SessionChannel(p.mux, { role: 'provider', software: 'test-agent', id: new Uint8Array([2]) }))
    )
  })
  const c2 = new SessionChannel(mux, { role: 'customer', software: 'test-session', id: new Uint8Array([2]) })
  const provider2 = await p2
  await c2.opened()
  provider2.on('message', (m: Message) => seen.add(m.type))
  const errClosed = once(provider2, 'close')
  c2.send({ type: 'error', code: 'CUSTOMER_GONE', message: 'bye' })
  expect((await errClosed)[0]).toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'CUSTOMER_GONE' })

  // A third channel resumes the session after a (pretend) drop.
  const p3 = new Promise<SessionChannel>((resolve) => {
    p.mux.pair({ protocol: '2020117/session', id: new Uint8Array([3]) }, () =>
      resolve(new SessionChannel(p.mux, { role: 'provider', software: 'test-agent', id: new Uint8Array([3]) }))
    )
  })
  const c3 = new SessionChannel(mux, { role: 'customer', software: 'test-session', id: new Uint8Array([3]) })
  const provider3 = await p3
  await c3.opened()
  provider3.on('message', (m: Message) => seen.add(m.type))
  c3.on('message', (m: Message) => seen.add(m.type))
  await exchange(c3, provider3, { type: 'session_resume', sessionId: sid, resumeSecret: new Uint8Array(32).fill(2) })
  await exchange(provider3, c3, {
    type: 'session_resumed',
    sessionId: sid,
    satsPerMinute: 5,
    tickSeconds: 2,
    graceSeconds: 5,
    nextSeq: 1,
    paidUntil: 2,
    elapsedMs: 2500
  })
  await exchange(provider3, c3, {
    type: 'tick',
    sessionId: sid,
    seq: 1,
    amountMsat: 167,
    bolt11: 'lnbcrt1670p1',
    periodStart: 2,
    periodEnd: 4
  })

  expect([...seen].sort()).toEqual(Object.keys(MESSAGE_IDS).sort())
})
