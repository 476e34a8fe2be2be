// Keep-alive latency (issue 15): the customer's local sockets run without Nagle, and a response
// reaches the local client in one write, head and body together. With Nagle on and the head and
// body written apart, a keep-alive client waits for its delayed ACK (40 ms) on every request.
// Judged by the socket option and the write pattern, never by timing. In process: the local
// gateway over a real tunnel pair, the provider's side answering as an old agent did, the head and
// the body in frames of their own.

import net from 'node:net'
import { EventEmitter, once } from 'node:events'
import { expect, test } from 'vitest'
import { SessionChannel, type Message } from '@2020117/protocol'
import { pipePair } from '@2020117/protocol/testing'
import { Tunnel, type TunnelStream } from '@2020117/tunnel'
import { createLogger } from '@2020117/cli'
import { LocalGateway } from '../src/local-gateway.js'

async function activeTunnels(): Promise<{ customer: Tunnel; provider: Tunnel }> {
  const [a, b] = pipePair()
  const c = new SessionChannel(a, { role: 'customer', software: 'c' })
  const p = new SessionChannel(b, { role: 'provider', software: 'p' })
  await Promise.all([c.opened(), p.opened()])
  const start: Message = {
    type: 'session_start',
    kind: 5200,
    budgetSats: 100,
    maxSatsPerMinute: 1,
    paymentMethod: 'bolt11',
    customerPubkey: null
  }
  const started = once(p, 'session_start')
  c.send(start)
  await started
  const acked = once(c, 'session_ack')
  p.send({
    type: 'session_ack',
    sessionId: new Uint8Array(16).fill(1),
    satsPerMinute: 1,
    tickSeconds: 60,
    graceSeconds: 10,
    resumeSecret: new Uint8Array(32)
  })
  await acked
  return { customer: new Tunnel(c), provider: new Tunnel(p) }
}

/** Node keeps a socket's TCP_NODELAY state under an internal symbol; there is no public getter. */
function noDelay(sock: net.Socket): unknown {
  const key = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'kSetNoDelay')
  if (!key) throw new Error('this node keeps no kSetNoDelay on sockets: find another way to read TCP_NODELAY')
  return (sock as unknown as Record<symbol, unknown>)[key]
}

test('local sockets run without Nagle, and each keep-alive response is written in one go', async () => {
  const { customer, provider } = await activeTunnels()
  const body = 'x'.repeat(3000)
  provider.on('stream', (s: TunnelStream) => {
    // The session's end resets its pooled streams (CANCELLED): expected here.
    s.on('error', () => {})
    s.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.toString('latin1').split('\r\n\r\n').length - 1; i++) {
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`)
        setImmediate(() => s.write(body))
      }
    })
  })
  const session = new EventEmitter()
  const listener = net.createServer()
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const gateway = new LocalGateway({
    address: listener.address() as net.AddressInfo,
    allowForeignOrigin: false,
    log: createLogger({ level: 'error', write: () => {} }),
    openStream: () => customer.openStream(),
    session
  })
  const accepted = new Promise<net.Socket>((resolve) =>
    listener.once('connection', (sock: net.Socket) => {
      // A fresh socket of net.createServer() has Nagle on: accept() must turn it off.
      expect(noDelay(sock)).toBe(false)
      gateway.accept(sock)
      resolve(sock)
    })
  )
  const { port } = listener.address() as net.AddressInfo
  const client = net.connect(port, '127.0.0.1')
  const local = await accepted
  expect(noDelay(local)).toBe(true)
  const writes = countWrites(local)
  let received = ''
  client.setEncoding('latin1')
  client.on('data', (d: string) => (received += d))
  for (let i = 1; i <= 5; i++) {
    writes.n = 0
    client.write(`GET /asset HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`)
    await new Promise<void>((resolve) => {
      const check = () => received.split(body).length - 1 >= i && (client.off('data', check), resolve())
      client.on('data', check)
    })
    expect(writes.n).toBe(1)
  }
  client.destroy()
  session.emit('end')
  listener.close()
})

/** Counts the writes node makes to `sock` (one writev or write per batch of corked chunks). */
function countWrites(sock: net.Socket): { n: number } {
  const count = { n: 0 }
  const s = sock as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const name of ['_writev', '_write']) {
    const original = s[name] as (...args: unknown[]) => unknown
    s[name] = function (this: unknown, ...args: unknown[]) {
      count.n++
      return original.apply(this, args)
    }
  }
  return count
}
