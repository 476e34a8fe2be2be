// One session cannot starve the others of upstream sockets (SPEC §6.2): each session has its own
// pool of at most UPSTREAM_SOCKETS_PER_SESSION sockets. A greedy paying session (a raw customer)
// parks its whole stream limit, 256 long requests, on an upstream that holds them; an honest
// customer (the real 2020117-session bin) renting from the same agent is still served, and the
// greedy session's extra requests queue behind its own and are answered once the upstream lets go.
//
// Old failure: the gateway had one http.Agent of 256 sockets for every session, so the greedy
// session held all 256 of them and the honest request waited for a socket that never came.

import http from 'node:http'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { MAX_OPEN_STREAMS } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { UPSTREAM_SOCKETS_PER_SESSION } from '../src/gateway.js'
import { Dialer, RawCustomer } from './helpers/hostile-customer.js'
import { paySession } from './helpers/paying-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
let upstream: http.Server
const held: http.ServerResponse[] = []
let onHeld: () => void = () => {}
let healthz = 0

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    if (req.url?.startsWith('/hold/')) {
      held.push(res)
      onHeld()
      return
    }
    if (req.url === '/healthz') healthz++
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
  })
  upstream.maxConnections = 4096
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', 1024, resolve))
})

afterAll(async () => {
  for (const res of held.splice(0)) res.end()
  upstream?.closeAllConnections()
  upstream?.close()
})

test('a paying session holding 256 long requests does not starve another session: the honest customer is served, and the greedy one queues behind itself', async () => {
  expect(UPSTREAM_SOCKETS_PER_SESSION).toBeLessThan(MAX_OPEN_STREAMS)
  const { port } = upstream.address() as { port: number }
  const agent = spawnBin('agent', [
    net.flag,
    `--processor=http://127.0.0.1:${port}`,
    '--sats-per-minute=5',
    '--tick-seconds=60',
    '--max-sessions=4',
    '--json'
  ])
  const { swarm_key: swarmKey } = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')

  const greedy = await RawCustomer.open(dialer, swarmKey)
  await paySession(greedy, async (bolt11) =>
    Buffer.from((await net.devnet.wallet.payInvoice('customer', bolt11)).preimage, 'hex')
  )
  for (let id = 1; id <= MAX_OPEN_STREAMS; id++) {
    greedy.send({ type: 'stream_open', streamId: id })
    greedy.send({ type: 'stream_data', streamId: id, data: Buffer.from(`GET /hold/${id} HTTP/1.1\r\nhost: x\r\n\r\n`) })
  }
  // The agent handles a channel's frames in order and answers skill_request at once: after two
  // round trips every greedy request has been handed to the gateway (holding a socket or queued).
  await greedy.skill()
  await greedy.skill()

  // The greedy session gets every upstream socket it may have, then no more.
  const allHeld = new Promise<string>((resolve) => {
    onHeld = () => {
      if (held.length >= MAX_OPEN_STREAMS) resolve(`the greedy session holds all ${held.length} upstream requests`)
    }
    onHeld()
  })
  const honestServed = (async () => {
    const honest = spawnBin('session', [
      net.flag,
      '--budget=1000',
      '--port=0',
      '--yes',
      '--no-repl',
      `--swarm-key=${swarmKey}`
    ])
    const line = await honest.line(/tunnel open: http:\/\/127\.0\.0\.1:\d+/)
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] as string
    const res = await fetch(`${url}/healthz`)
    return `honest ${res.status} ${await res.text()}`
  })()
  expect(await Promise.race([honestServed, allHeld])).toBe('honest 200 {"ok":true}')
  expect(healthz).toBe(1)
  // The greedy session's own share reaches the upstream (it may still be on its way), and no more.
  await new Promise<void>((resolve) => {
    const check = () => held.length >= UPSTREAM_SOCKETS_PER_SESSION && resolve()
    onHeld = check
    check()
  })
  expect(held.length).toBe(UPSTREAM_SOCKETS_PER_SESSION)

  // The greedy session's queued requests are served, not dropped, once its own sockets free up.
  onHeld = () => {
    for (const res of held.splice(0)) res.end('released')
  }
  onHeld()
  const answered = () =>
    new Set(
      greedy
        .all('stream_data')
        .filter((d) => Buffer.from(d.data).toString().includes('released'))
        .map((d) => d.streamId)
    ).size
  expect(await greedy.until(() => answered() === MAX_OPEN_STREAMS)).toBe(true)
  expect(greedy.all('stream_reset')).toEqual([])
  expect(agent.child.exitCode).toBeNull()
}, 60_000)
