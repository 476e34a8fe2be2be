// The provider serves nothing unpaid. A customer built from the protocol package, against the real
// 2020117-agent bin, with an upstream that counts every request it sees.

import { once } from 'node:events'
import http from 'node:http'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { SessionChannel, type SessionAck, type SessionEnd, type Tick } from '@2020117/protocol'
import { PeerSwarm, type Connection } from '@2020117/swarm'
import { Tunnel, type TunnelStream } from '@2020117/tunnel'
import { killAll, spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'

const net = await startTestNetwork({ teardown: afterAll })
let upstream: http.Server
let upstreamHits = 0
const swarms: PeerSwarm[] = []

beforeAll(async () => {
  upstream = http.createServer((_req, res) => {
    upstreamHits++
    res.end('served')
  })
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r))
})

afterEach(async () => {
  await killAll()
  await Promise.all(swarms.splice(0).map((s) => s.destroy(100)))
})

afterAll(async () => {
  upstream.close()
})

async function startAgent(): Promise<{ agent: Proc; key: string }> {
  const { port } = upstream.address() as { port: number }
  const agent = spawnBin('agent', [
    net.flag,
    `--processor=http://127.0.0.1:${port}`,
    '--sats-per-minute=5',
    '--tick-seconds=2',
    '--grace-seconds=1',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  return { agent, key: ready.swarm_key }
}

/** A customer that starts a session and then does only what the test says. */
async function rogueCustomer(key: string) {
  const swarm = new PeerSwarm({ network: { bootstrap: net.devnet.state.bootstrap } })
  swarms.push(swarm)
  const conn: Connection = await swarm.connectTo(Buffer.from(key, 'hex'), 15_000)
  const channel = new SessionChannel(conn, { role: 'customer', software: 'rogue/test' })
  await channel.opened()
  const ticks: Tick[] = []
  channel.on('tick', (t: Tick) => ticks.push(t))
  const ended = new Promise<SessionEnd>((resolve) => channel.on('session_end', resolve))
  const acked = once(channel, 'session_ack') as Promise<[SessionAck]>
  channel.send({
    type: 'session_start',
    kind: 5200,
    budgetSats: 100,
    maxSatsPerMinute: 5,
    paymentMethod: 'bolt11',
    customerPubkey: null
  })
  const [ack] = await acked
  return { channel, ack, ticks, ended, tunnel: new Tunnel(channel) }
}

function tryStream(tunnel: Tunnel): Promise<{ bytes: number; error: string | null }> {
  const s: TunnelStream = tunnel.openStream()
  let bytes = 0
  s.on('data', (d: Buffer) => (bytes += d.length))
  // Like a browser, keep our side open; `connection: close` makes the server end the stream.
  s.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
  return new Promise((resolve) => {
    s.on('error', (e: { code?: string }) => resolve({ bytes, error: e.code ?? 'ERROR' }))
    s.on('end', () => resolve({ bytes, error: null }))
  })
}

test('a customer that never pays gets no tunnel byte, and the session ends UNPAID', async () => {
  const { agent, key } = await startAgent()
  const rogue = await rogueCustomer(key)
  const hitsBefore = upstreamHits
  const attempt = await tryStream(rogue.tunnel)
  expect(attempt).toEqual({ bytes: 0, error: 'PAYMENT_REQUIRED' })
  const end = await rogue.ended
  expect(end).toMatchObject({ by: 'provider', reason: 'UNPAID', ticksPaid: 0, msatPaid: 0 })
  expect(upstreamHits).toBe(hitsBefore)
  expect(rogue.ticks.length).toBeGreaterThanOrEqual(1)
  const ended = await agent.json<{ event: string; reason: string }>((e) => e.event === 'session_ended')
  expect(ended.reason).toBe('UNPAID')
})

test('a wrong preimage ends the session UNPAID at once, and nothing is served', async () => {
  const { key } = await startAgent()
  const rogue = await rogueCustomer(key)
  const [tick] = (await once(rogue.channel, 'tick')) as [Tick]
  const hitsBefore = upstreamHits
  rogue.channel.send({
    type: 'tick_ack',
    sessionId: rogue.ack.sessionId,
    seq: tick.seq,
    preimage: new Uint8Array(32).fill(7)
  })
  const end = await rogue.ended
  expect(end).toMatchObject({ reason: 'UNPAID', ticksPaid: 0 })
  expect(end.message).toMatch(/preimage/)
  expect(upstreamHits).toBe(hitsBefore)
})

test('streams opened before the payment is verified are refused, and served once it is', async () => {
  const { key } = await startAgent()
  const rogue = await rogueCustomer(key)
  const [tick] = (await once(rogue.channel, 'tick')) as [Tick]
  expect(await tryStream(rogue.tunnel)).toEqual({ bytes: 0, error: 'PAYMENT_REQUIRED' })

  // Pay for real through the customer's wallet, as an honest customer would.
  const paid = await net.devnet.wallet.payInvoice('customer', tick.bolt11)
  const receipt = once(rogue.channel, 'tick_receipt')
  rogue.channel.send({
    type: 'tick_ack',
    sessionId: rogue.ack.sessionId,
    seq: tick.seq,
    preimage: Buffer.from(paid.preimage, 'hex')
  })
  await receipt
  const served = await tryStream(rogue.tunnel)
  expect(served.error).toBeNull()
  expect(served.bytes).toBeGreaterThan(0)
})
