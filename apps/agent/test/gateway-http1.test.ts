// The provider's gateway reads only request heads and passes bodies and responses as bytes
// (issue 15, @2020117/http1): each case here is one where a head-only gateway can lose step with
// the client or the upstream. Pipelined requests, chunked bodies both ways, HEAD, 100-continue, close-delimited
// responses and upgrades must come out whole and in order; requests that two parsers could frame
// differently (the smuggling shapes of RFC 9112 §11.2) must be refused before the upstream sees a
// byte. A raw TCP client talks to the Gateway in-process (each connection handed to it as a
// tunnel stream would be), against a recording upstream.

import http from 'node:http'
import net from 'node:net'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { Gateway } from '../src/gateway.js'

const seen: string[] = []
let upstream: http.Server
let raw: net.Server
let rawReply = ''
let front: net.Server
let frontPort = 0
let rawFront: net.Server
let rawFrontPort = 0

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} host=${req.headers.host}`)
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('first,')
        setImmediate(() => res.end('second'))
        return
      }
      if (req.url === '/empty') return void res.writeHead(204).end()
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(`${req.url}|${body}`) })
      res.end(req.method === 'HEAD' ? undefined : `${req.url}|${body}`)
    })
  })
  // A upstream that answers every connection with the bytes of `rawReply`, then echoes what follows.
  raw = net.createServer((sock) => {
    sock.once('data', () => {
      sock.write(rawReply)
      if (rawReply.includes(' 101 ')) sock.pipe(sock)
      else sock.end()
    })
  })
  await Promise.all([listen(upstream), listen(raw)])
  const gateway = new Gateway({ upstream: originOf(upstream), denyPaths: ['/admin'], log: () => {} })
  const rawGateway = new Gateway({ upstream: originOf(raw), denyPaths: [], log: () => {} })
  front = net.createServer((sock) => gateway.handle(sock, 'session-a'))
  rawFront = net.createServer((sock) => rawGateway.handle(sock, 'session-b'))
  frontPort = await listen(front)
  rawFrontPort = await listen(rawFront)
})

afterAll(() => {
  for (const s of [upstream, raw, front, rawFront]) s?.close()
  upstream?.closeAllConnections()
})

test('two pipelined requests are answered in order, each whole, on one connection', async () => {
  const c = await Client.open(frontPort)
  seen.length = 0
  c.send('GET /one HTTP/1.1\r\nHost: evil.example\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n')
  const text = await c.until((t) => t.includes('/two|'))
  expect(text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2)
  expect(text.indexOf('/one|')).toBeLessThan(text.indexOf('/two|'))
  // Host is the upstream's own, whatever the client said.
  expect(seen).toEqual([`GET /one host=${originOf(upstream).host}`, `GET /two host=${originOf(upstream).host}`])
  c.close()
})

test('a chunked request body and a chunked response pass whole, and the connection goes on', async () => {
  const c = await Client.open(frontPort)
  c.send('POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
  expect(await c.until((t) => t.includes('/echo|hello world'))).toMatch(/content-length: 17/i)
  c.send('GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n')
  const text = await c.until((t) => /0\r\n\r\n$/.test(t))
  expect(text).toMatch(/transfer-encoding: chunked/i)
  expect(text).toMatch(/6\r\nfirst,\r\n6\r\nsecond\r\n0\r\n\r\n$/)
  c.send('GET /after HTTP/1.1\r\nHost: x\r\n\r\n')
  expect(await c.until((t) => t.includes('/after|'))).toBeTruthy()
  c.close()
})

test('HEAD gets a head only, 204 no body, and the next request on the connection is answered', async () => {
  const c = await Client.open(frontPort)
  c.send(
    'HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\nGET /empty HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\nHost: x\r\n\r\n'
  )
  const text = await c.until((t) => t.includes('/last|'))
  expect(text.match(/^HTTP\/1\.1 /gm)).toHaveLength(3)
  expect(text).toMatch(/HTTP\/1\.1 204 No Content/)
  expect(text).not.toContain('/thing|')
  c.close()
})

test('Expect: 100-continue: the interim answer passes, then the body, then the response', async () => {
  const c = await Client.open(frontPort)
  c.send('POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n')
  await c.until((t) => t.includes('100 Continue'))
  c.send('data')
  expect(await c.until((t) => t.includes('/upload|data'))).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/)
  c.close()
})

test('a denied path is refused 403 and the connection stays usable', async () => {
  const c = await Client.open(frontPort)
  seen.length = 0
  c.send('GET /admin/x HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n')
  const text = await c.until((t) => t.includes('/ok|'))
  expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/)
  expect(text).toContain('"PATH_DENIED"')
  expect(seen).toEqual([`GET /ok host=${originOf(upstream).host}`])
  c.close()
})

const SMUGGLING: Array<[string, string, number]> = [
  [
    'Transfer-Encoding beside Content-Length',
    'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n',
    400
  ],
  ['two different lengths', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', 400],
  ['a length in hex', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello', 400],
  ['a signed length', 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello', 400],
  ['obs-fold', 'GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n', 400],
  ['a space before the colon', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', 400],
  ['a bare LF', 'GET /a HTTP/1.1\nHost: x\r\n\r\n', 400],
  ['a coding other than chunked', 'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
  ['two Host headers', 'GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 400],
  ['no Host', 'GET /a HTTP/1.1\r\n\r\n', 400],
  ['a NUL in a value', 'GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 400],
  [
    'a malformed chunk size',
    'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n',
    400
  ],
  ['a head of over 16 KiB', `GET /a HTTP/1.1\r\nHost: x\r\nX-A: ${'a'.repeat(17_000)}\r\n\r\n`, 431]
]

const CODES: Record<number, string> = { 400: 'BAD_REQUEST', 431: 'HEADERS_TOO_LARGE', 501: 'NOT_IMPLEMENTED' }

for (const [name, request, status] of SMUGGLING) {
  test(`refused with ${status}, and nothing reaches the upstream's next request: ${name}`, async () => {
    const c = await Client.open(frontPort)
    seen.length = 0
    c.send(request)
    const text = await c.untilClosed()
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `))
    // The gateway's own refusal, not the upstream's (Node's own parser refuses some of these too).
    expect(text).toContain(`{"error":{"code":"${CODES[status]}"`)
    expect(seen.filter((s) => s.includes('/admin'))).toEqual([])
    // The malformed chunked body reached the upstream's head only; nothing after it did.
    expect(seen.length).toBeLessThanOrEqual(name === 'a malformed chunk size' ? 1 : 0)
  })
}

test('a close-delimited response passes whole, then the connection closes', async () => {
  rawReply = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end'
  const c = await Client.open(rawFrontPort)
  c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  expect(await c.untilClosed()).toBe(rawReply)
})

test('an upgrade answered 101 joins both sides byte for byte', async () => {
  rawReply = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n'
  const c = await Client.open(rawFrontPort)
  c.send('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  await c.until((t) => t.endsWith('\r\n\r\n'))
  c.send('ping over the upgraded connection')
  expect(await c.until((t) => t.endsWith('ping over the upgraded connection'))).toContain(' 101 ')
  c.close()
})

test('a 101 to a request that asked for no upgrade is not passed on', async () => {
  rawReply = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n'
  const c = await Client.open(rawFrontPort)
  c.send('GET /ws HTTP/1.1\r\nHost: x\r\n\r\n')
  expect(await c.untilClosed()).toMatch(/^HTTP\/1\.1 502 /)
})

class Client {
  private text = ''
  private ended = false
  private waiters: Array<() => void> = []

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.text += d.toString('latin1')
      this.notify()
    })
    sock.on('close', () => {
      this.ended = true
      this.notify()
    })
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => resolve(new Client(sock)))
      sock.once('error', reject)
    })
  }

  send(data: string): void {
    this.sock.write(Buffer.from(data, 'latin1'))
  }

  /** Resolves with all received text once `done(text)` holds; rejects if the connection closes first. */
  until(done: (text: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done(this.text)) return resolve(this.text)
        if (this.ended) return reject(new Error(`closed with ${JSON.stringify(this.text.slice(0, 300))}`))
        this.waiters.push(check)
      }
      check()
    })
  }

  untilClosed(): Promise<string> {
    return new Promise((resolve) => {
      const check = () => (this.ended ? resolve(this.text) : this.waiters.push(check))
      check()
    })
  }

  close(): void {
    this.sock.destroy()
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w()
  }
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
  )
}

function originOf(server: net.Server): URL {
  return new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`)
}
