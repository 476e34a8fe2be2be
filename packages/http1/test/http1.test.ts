// The head parser and the body scanner on their own: framing as RFC 9112 §6.3 says, for requests
// and for responses, and the end of a chunked body found across any split of its bytes. What the
// gateways do with them (refusals on the wire, pipelining, upgrades) is in
// apps/agent/test/gateway-http1.test.ts.

import { expect, test } from 'vitest'
import { BodyScanner, HeadError, parseRequestHead, parseResponseHead, requestHeadBytes } from '../src/index.js'

const head = (text: string) => Buffer.from(text, 'latin1')
const request = (text: string) => parseRequestHead(head(text))

test('a request head: method, target, headers in order, framing and keep-alive', () => {
  const req = request('\r\nPOST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length:  12 \r\nX-Y: a, b\r\n\r\n')
  expect(req).toMatchObject({ method: 'POST', target: '/a?b=1', minor: 1, keepAlive: true, upgrade: false })
  expect(req.headers).toEqual([
    ['Host', 'x'],
    ['Content-Length', '12'],
    ['X-Y', 'a, b']
  ])
  expect(req.body).toEqual({ kind: 'length', length: 12 })
  expect(requestHeadBytes(req).toString('latin1')).toBe(
    'POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nX-Y: a, b\r\n\r\n'
  )
  expect(request('GET / HTTP/1.0\r\n\r\n')).toMatchObject({ keepAlive: false, body: { kind: 'none' } })
  expect(request('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').keepAlive).toBe(true)
  expect(request('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n').upgrade).toBe(true)
  expect(request('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n').upgrade).toBe(false)
  expect(request('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n').body).toEqual({
    kind: 'chunked'
  })
})

test('requests two parsers could frame differently are refused, each with its status', () => {
  const refused: Array<[string, number]> = [
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n', 400],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 501],
    ['GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n\tB: 2\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: x\r\nA\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: x\r\nA: 1\rB: 2\r\n\r\n', 400],
    ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', 400],
    ['GET  / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n'.replace('http://x/', 'a b'), 400]
  ]
  for (const [text, status] of refused) {
    let thrown: unknown = null
    try {
      request(text)
    } catch (err) {
      thrown = err
    }
    expect(thrown, JSON.stringify(text)).toBeInstanceOf(HeadError)
    expect((thrown as HeadError).status, JSON.stringify(text)).toBe(status)
  }
  // The same length twice is one length.
  expect(request('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n').body).toEqual({
    kind: 'length',
    length: 3
  })
})

test('a response is framed by the request it answers and its status, then its headers', () => {
  const get = request('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  const headReq = request('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n')
  const res = (text: string, req = get) => parseResponseHead(head(text), req)
  expect(res('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n').body).toEqual({ kind: 'length', length: 5 })
  expect(res('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', headReq).body).toEqual({ kind: 'none' })
  expect(res('HTTP/1.1 204 No Content\r\n\r\n').body).toEqual({ kind: 'none' })
  expect(res('HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n').body).toEqual({ kind: 'none' })
  expect(res('HTTP/1.1 100 Continue\r\n\r\n').body).toEqual({ kind: 'none' })
  expect(res('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n').body).toEqual({ kind: 'chunked' })
  expect(res('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n').body).toEqual({ kind: 'close' })
  expect(res('HTTP/1.1 200 OK\r\n\r\n').body).toEqual({ kind: 'close' })
  expect(res('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')).toMatchObject({
    keepAlive: false,
    body: { kind: 'none' }
  })
  expect(res('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false)
  expect(() => res('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n')).toThrow(HeadError)
  expect(() => res('HTTP/1.1 20 OK\r\n\r\n')).toThrow(HeadError)
})

test('the body scanner finds where a chunked body ends, across any split of its bytes', () => {
  const body = Buffer.from('4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT')
  const framing = request('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n').body
  for (let split = 1; split < body.length; split++) {
    const scanner = new BodyScanner(framing, 400)
    const a = scanner.scan(body.subarray(0, split))
    const b = a === split ? scanner.scan(body.subarray(split)) : 0
    expect(scanner.done, `split at ${split}`).toBe(true)
    expect(a + b, `split at ${split}`).toBe(body.length - 'NEXT'.length)
  }
})

test('the body scanner refuses a malformed chunked body, and counts a sized one exactly', () => {
  const chunked = { kind: 'chunked' } as const
  for (const bad of ['x\r\n', '5\r\nhelloX', '5\nhello\r\n', `${'1'.repeat(13)}\r\n`, '0\r\nbad trailer\r\n\r\n']) {
    expect(() => new BodyScanner(chunked, 400).scan(Buffer.from(bad)), JSON.stringify(bad)).toThrow(HeadError)
  }
  const sized = new BodyScanner({ kind: 'length', length: 5 }, 400)
  expect(sized.scan(Buffer.from('abc'))).toBe(3)
  expect(sized.done).toBe(false)
  expect(sized.scan(Buffer.from('deNEXT'))).toBe(2)
  expect(sized.done).toBe(true)
})
