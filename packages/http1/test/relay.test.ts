// relayHttp and ConnectionPool against the ways a client or a far side leaves in the middle of an
// exchange (a browser cancels a request, a WebSocket handshake is abandoned), which must give the
// pooled connection back, and against asks to switch to a protocol no head check can see (h2c).
// Raw TCP clients, a net front that hands each connection to relayHttp, and a scripted upstream.

import net from 'node:net'
import { afterEach, expect, test } from 'vitest'
import { ConnectionPool, relayHttp, type Refusal } from '../src/index.js'

const servers: net.Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/** An upstream that hands each connection, and the request head it read, to `onRequest`. */
async function upstream(onRequest: (sock: net.Socket, head: string) => void): Promise<number> {
  const server = net.createServer((sock) => {
    let text = ''
    sock.on('error', () => {})
    sock.on('data', function read(d: Buffer) {
      text += d.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return
      sock.off('data', read)
      onRequest(sock, text.slice(0, end + 4))
    })
  })
  return listen(server)
}

/**
 * A front whose connections are relayed to `port`, through one pool of at most `max` connections;
 * `gone()` resolves once the front's side of every connection so far has closed.
 */
async function front(port: number, max: number): Promise<{ port: number; gone: () => Promise<unknown> }> {
  const accepted: net.Socket[] = []
  const pool = new ConnectionPool({
    open: () =>
      new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1', () => resolve(sock))
        sock.once('error', reject)
      }),
    max
  })
  const answer = (r: Refusal) => Buffer.from(`HTTP/1.1 ${r.status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`)
  const server = net.createServer((sock) => {
    accepted.push(sock)
    void relayHttp(sock, {
      police: () => null,
      answer,
      unavailable: (err) => ({ status: 502, code: 'UPSTREAM_UNAVAILABLE', message: err.message }),
      pool,
      headTimeoutMs: 10_000
    })
  })
  const gone = () => Promise.all(accepted.map((s) => (s.closed ? null : new Promise((r) => s.once('close', r)))))
  return { port: await listen(server), gone }
}

test('a client that leaves before its response gives the pooled connection back: the next request is served', async () => {
  const held: net.Socket[] = []
  let onHeld = () => {}
  const up = await upstream((sock, head) => {
    if (head.startsWith('GET /slow')) {
      held.push(sock)
      onHeld()
    } else sock.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfast')
  })
  const { port, gone } = await front(up, 1)
  const first = await connect(port)
  const reached = new Promise<void>((resolve) => (onHeld = resolve))
  first.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
  await reached
  first.destroy()
  await gone()
  // The upstream answers after the client left, as a slow generation would.
  held[0]?.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nslow')
  const second = await connect(port)
  second.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n')
  expect(await readUntil(second, 'fast')).toMatch(/^HTTP\/1\.1 200 OK/)
  second.destroy()
})

test('a WebSocket handshake abandoned before the 101 closes its upstream connection', async () => {
  let upstreamSock: net.Socket | null = null
  let onRequest = () => {}
  const up = await upstream((sock) => {
    upstreamSock = sock
    onRequest()
  })
  const { port, gone } = await front(up, 1)
  const client = await connect(port)
  const reached = new Promise<void>((resolve) => (onRequest = resolve))
  client.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  await reached
  client.destroy()
  await gone()
  const sock = upstreamSock as unknown as net.Socket
  const closed = new Promise((resolve) => sock.once('close', resolve))
  sock.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n')
  await closed
  expect(sock.destroyed).toBe(true)
})

test('an ask to switch to h2c is taken out of the request: the upstream sees a plain request', async () => {
  let seen = ''
  const up = await upstream((sock, head) => {
    seen = head
    sock.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
  })
  const { port } = await front(up, 1)
  const client = await connect(port)
  client.write(
    'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, keep-alive\r\nUpgrade: h2c\r\n' +
      'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n'
  )
  expect(await readUntil(client, 'ok')).toMatch(/^HTTP\/1\.1 200 OK/)
  expect(seen).toBe('GET /ok HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n')
  client.destroy()
})

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => resolve(sock))
    sock.once('error', reject)
  })
}

function readUntil(sock: net.Socket, end: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      if (text.endsWith(end)) resolve(text)
    })
    sock.once('close', () => reject(new Error(`closed with ${JSON.stringify(text)}`)))
  })
}

function listen(server: net.Server): Promise<number> {
  servers.push(server)
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  )
}
