// Keep-alive latency (issue 15): a response's head and its first body bytes leave the agent in one
// stream_data frame, so the customer writes them to its local socket together. Sent as two frames
// they become two writes, and wherever Nagle is on a keep-alive client waits for its delayed ACK
// (40 ms) before the body, on every request. Judged by the frames the real agent sends to a raw
// customer, never by timing.

import http from 'node:http'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { Dialer, RawCustomer } from './helpers/hostile-customer.js'
import { paySession } from './helpers/paying-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
let upstream: http.Server
const BODY = Buffer.alloc(3000, 'x')

beforeAll(async () => {
  // As most servers do: the head first, then the body in a write of its own.
  upstream = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length })
    res.flushHeaders()
    setImmediate(() => res.end(BODY))
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
})

afterAll(() => {
  upstream?.closeAllConnections()
  upstream?.close()
})

test('each response of a keep-alive connection crosses in one frame, head and body together', async () => {
  const { port } = upstream.address() as { port: number }
  const agent = spawnBin('agent', [
    net.flag,
    `--processor=http://127.0.0.1:${port}`,
    '--sats-per-minute=5',
    '--tick-seconds=60',
    '--json'
  ])
  const { swarm_key: swarmKey } = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const customer = await RawCustomer.open(dialer, swarmKey)
  await paySession(customer, async (bolt11) =>
    Buffer.from((await net.devnet.wallet.payInvoice('customer', bolt11)).preimage, 'hex')
  )
  const streamId = 1
  customer.send({ type: 'stream_open', streamId })
  const frames = () => customer.all('stream_data').filter((d) => d.streamId === streamId)
  const bytes = () => frames().reduce((n, d) => n + d.data.byteLength, 0)
  const request = Buffer.from('GET /asset HTTP/1.1\r\nhost: x\r\n\r\n')
  const responses: number[] = []
  for (let i = 0; i < 5; i++) {
    const before = frames().length
    const expected = bytes() + 1 // at least the next response's first byte
    customer.send({ type: 'stream_data', streamId, data: request })
    // One request at a time, as a browser's keep-alive connection sends them: wait for the body.
    await customer.until(() => bytes() >= expected && /\r\n\r\nx{3000}$/.test(text(frames().slice(before))))
    responses.push(frames().length - before)
    const response = text(frames().slice(before))
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(response.endsWith(BODY.toString('latin1'))).toBe(true)
  }
  expect(responses).toEqual([1, 1, 1, 1, 1])
  customer.destroy()
})

const text = (list: Array<{ data: Uint8Array }>) => list.map((d) => Buffer.from(d.data).toString('latin1')).join('')
