// The customer's local listener serves only its own origin. The agent rewrites Host and Origin for
// the upstream (SPEC §6.2), so the check must happen on the customer's machine, before anything
// enters the tunnel: a page on https://evil.example (a cross-site POST or WebSocket) or a
// DNS-rebinding name (Host: evil.example) gets 403 with a typed JSON error, on every request of a
// keep-alive connection and on upgrades, and the upstream never sees it. Real bins: the agent rents
// out a recording upstream; `--allow-foreign-origin` turns the check off.

import http from 'node:http'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'
import { ownHosts } from '../src/local-gateway.js'
import { startRecordingUpstream, type RecordingUpstream } from './helpers/local-upstream.js'

const network = await startTestNetwork({ teardown: afterAll })
let upstream: RecordingUpstream
let base: string
let port: number

async function startSession(extra: string[] = []): Promise<{ proc: Proc; base: string; port: number }> {
  const agent = spawnBin('agent', [
    network.flag,
    `--processor=${upstream.url}`,
    '--sats-per-minute=5',
    '--tick-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const proc = spawnBin('session', [
    network.flag,
    '--budget=1000',
    '--port=0',
    '--yes',
    '--no-repl',
    `--swarm-key=${ready.swarm_key}`,
    ...extra
  ])
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(await proc.line(/tunnel open: http:\/\//))?.[1] as string
  return { proc, base: url, port: Number(new URL(url).port) }
}

beforeAll(async () => {
  upstream = await startRecordingUpstream()
  ;({ base, port } = await startSession())
}, 60_000)

afterAll(async () => {
  await upstream?.close()
})

interface Answer {
  status: number
  body: string
  reused: boolean
}

/** One request with the headers given (Host included), on `agent`'s connection if it has one. */
function request(
  path: string,
  headers: Record<string, string>,
  opts: { method?: string; agent?: http.Agent; body?: string; port?: number } = {}
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: opts.port ?? port,
        path,
        method: opts.method ?? 'GET',
        headers,
        agent: opts.agent ?? false
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }))
      }
    )
    req.on('error', reject)
    req.end(opts.body)
  })
}

const saw = (path: string) => upstream.seen.some((s) => s.url === path)

function expectRefused(a: Answer, code: 'FOREIGN_HOST' | 'FOREIGN_ORIGIN'): void {
  expect(a.status, a.body).toBe(403)
  expect(JSON.parse(a.body)).toMatchObject({ ok: false, error: { code } })
}

test('a request with a foreign Host (a DNS-rebinding name) gets 403 FOREIGN_HOST and never reaches the upstream', async () => {
  expect((await request('/own-host', { host: `127.0.0.1:${port}` })).status).toBe(200)
  expect((await request('/localhost', { host: `localhost:${port}` })).status).toBe(200)
  expectRefused(await request('/evil-host', { host: 'evil.example' }), 'FOREIGN_HOST')
  expectRefused(await request('/evil-host-port', { host: `evil.example:${port}` }), 'FOREIGN_HOST')
  expectRefused(await request('/other-port', { host: `127.0.0.1:${port + 1}` }), 'FOREIGN_HOST')
  expect(saw('/own-host') && saw('/localhost')).toBe(true)
  for (const p of ['/evil-host', '/evil-host-port', '/other-port']) expect(saw(p), p).toBe(false)
})

test('a cross-site POST (Origin: https://evil.example, or null) gets 403 FOREIGN_ORIGIN and never reaches the upstream', async () => {
  const host = `127.0.0.1:${port}`
  const post = (path: string, origin: string) =>
    request(path, { host, origin, 'content-type': 'application/json' }, { method: 'POST', body: '{"prompt":"x"}' })
  expectRefused(await post('/evil-origin', 'https://evil.example'), 'FOREIGN_ORIGIN')
  expectRefused(await post('/null-origin', 'null'), 'FOREIGN_ORIGIN')
  expectRefused(await post('/https-own', `https://127.0.0.1:${port}`), 'FOREIGN_ORIGIN')
  expect((await post('/own-origin', `http://127.0.0.1:${port}`)).status).toBe(200)
  expect((await post('/localhost-origin', `http://localhost:${port}`)).status).toBe(200)
  expect(saw('/own-origin') && saw('/localhost-origin')).toBe(true)
  for (const p of ['/evil-origin', '/null-origin', '/https-own']) expect(saw(p), p).toBe(false)
})

test('every request of a keep-alive connection is checked, not only the first', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const host = `127.0.0.1:${port}`
  const answers = [
    await request('/ka-1', { host }, { agent }),
    await request('/ka-2', { host, origin: 'https://evil.example' }, { agent }),
    await request('/ka-3', { host: 'evil.example' }, { agent }),
    await request('/ka-4', { host }, { agent })
  ]
  agent.destroy()
  expect(answers.map((a) => a.status)).toEqual([200, 403, 403, 200])
  expect(
    answers.slice(1).every((a) => a.reused),
    'all four went over one connection'
  ).toBe(true)
  expect([saw('/ka-1'), saw('/ka-2'), saw('/ka-3'), saw('/ka-4')]).toEqual([true, false, false, true])
})

test('a WebSocket from a foreign origin or host is refused with 403 before the upgrade reaches the upstream; our own works', async () => {
  const ws = (path: string, opts: { origin?: string; headers?: Record<string, string> }) =>
    new Promise<{ status: number; echoed?: string }>((resolve, reject) => {
      const sock = new WebSocket(`ws://127.0.0.1:${port}${path}`, opts)
      sock.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0 })
        res.resume()
      })
      sock.on('open', () => sock.send('ping'))
      sock.on('message', (data) => {
        resolve({ status: 101, echoed: data.toString() })
        sock.close()
      })
      sock.on('error', reject)
    })
  expect(await ws('/ws-evil-origin', { origin: 'https://evil.example' })).toEqual({ status: 403 })
  expect(await ws('/ws-evil-host', { headers: { host: 'evil.example' } })).toEqual({ status: 403 })
  expect(await ws('/ws-own', { origin: `http://127.0.0.1:${port}` })).toEqual({ status: 101, echoed: 'ping' })
  expect(await ws('/ws-no-origin', {})).toEqual({ status: 101, echoed: 'ping' })
  expect(upstream.seen.filter((s) => s.upgrade).map((s) => s.url)).toEqual(['/ws-own', '/ws-no-origin'])
})

test('the request target enters the tunnel as sent: nothing between the local port and the provider rewrites it', async () => {
  // A guard: the provider canonicalises what it receives (SPEC §6.2), so the local side must change
  // nothing, least of all something the provider would then refuse or fold differently.
  const target = '/pipe|caret^/x?q=a//b&r=%2F'
  expect((await request(target, { host: `127.0.0.1:${port}` })).status).toBe(200)
  expect(saw(target), JSON.stringify(upstream.seen.map((s) => s.url).slice(-3))).toBe(true)
})

test('SSE streams through the local gateway event by event', async () => {
  const events = await new Promise<string[]>((resolve, reject) => {
    const got: string[] = []
    http
      .get(`${base}/sse`, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream')
        res.setEncoding('utf8')
        res.on('data', (c: string) => got.push(...c.split('\n\n').filter(Boolean)))
        res.on('end', () => resolve(got))
      })
      .on('error', reject)
  })
  expect(events).toEqual(['data: 1', 'data: 2', 'data: 3'])
})

test('--allow-foreign-origin lets a foreign Host and Origin through, as before', async () => {
  const open = await startSession(['--allow-foreign-origin'])
  const a = await request(
    '/allowed-foreign',
    { host: 'evil.example', origin: 'https://evil.example' },
    { port: open.port }
  )
  expect(a.status).toBe(200)
  expect(saw('/allowed-foreign')).toBe(true)
  expect(open.proc.stderr()).toMatch(/--allow-foreign-origin/)
}, 60_000)

test('requests sent before the tunnel opens (even before the provider answered) wait for it and are checked too; the foreign one never reaches the upstream', async () => {
  const agent = spawnBin('agent', [
    network.flag,
    `--processor=${upstream.url}`,
    '--sats-per-minute=5',
    '--tick-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const free = await freePort()
  const proc = spawnBin('session', [
    network.flag,
    '--budget=1000',
    `--port=${free}`,
    '--yes',
    '--no-repl',
    `--swarm-key=${ready.swarm_key}`
  ])
  // The port is bound before the provider is even dialled: connect as soon as it listens.
  await proc.line(/connecting to provider/)
  const early = [
    request('/early-own', { host: `127.0.0.1:${free}` }, { port: free }),
    request('/early-evil', { host: `127.0.0.1:${free}`, origin: 'https://evil.example' }, { port: free })
  ]
  const openedBefore = /tunnel open/.test(proc.stderr())
  const [own, evil] = await Promise.all(early)
  expect(own!.status).toBe(200)
  expectRefused(evil!, 'FOREIGN_ORIGIN')
  expect(saw('/early-own')).toBe(true)
  expect(saw('/early-evil')).toBe(false)
  // Only meaningful if the requests really were sent before the tunnel opened.
  expect(openedBefore, 'the tunnel opened before the requests were sent').toBe(false)
}, 60_000)

test('a stream cut in the tunnel (the connection to the provider dropped) cuts its local response and WebSocket; after the resume, requests work', async () => {
  const open = await startSession()
  const sse = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get(`${open.base}/forever`, resolve).on('error', reject)
  )
  const sseClosed = new Promise<boolean>((resolve) => sse.once('close', () => resolve(sse.complete)))
  sse.resume()
  const ws = new WebSocket(`ws://127.0.0.1:${open.port}/ws-cut`)
  ws.on('error', () => {})
  await new Promise((resolve) => ws.once('open', resolve))
  const wsClosed = new Promise((resolve) => ws.once('close', resolve))
  open.proc.kill('SIGUSR2')
  expect(await sseClosed, 'the event stream ended as if complete').toBe(false)
  await wsClosed
  await open.proc.line(/session resumed/)
  expect((await request('/after-resume', { host: `127.0.0.1:${open.port}` }, { port: open.port })).status).toBe(200)
}, 60_000)

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = http.createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

test('the hosts a listener answers to: its own address and port, localhost on loopback, no port only for 80', () => {
  expect([...ownHosts({ address: '127.0.0.1', family: 'IPv4', port: 8080 })].sort()).toEqual([
    '127.0.0.1:8080',
    '[::1]:8080',
    'localhost:8080'
  ])
  expect([...ownHosts({ address: '::1', family: 'IPv6', port: 9 })].sort()).toEqual([
    '127.0.0.1:9',
    '[::1]:9',
    'localhost:9'
  ])
  expect(ownHosts({ address: '127.0.0.1', family: 'IPv4', port: 80 })).toContain('localhost')
  expect([...ownHosts({ address: '192.168.1.7', family: 'IPv4', port: 8080 })]).toEqual(['192.168.1.7:8080'])
  const any = ownHosts({ address: '0.0.0.0', family: 'IPv4', port: 8080 })
  expect(any).toContain('127.0.0.1:8080')
  expect(any).toContain('localhost:8080')
  expect([...any].some((h) => h.includes('evil'))).toBe(false)
})
