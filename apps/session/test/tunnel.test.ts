// Everything a browser does with the rented WebUI, through localhost:--port → 2020117-session →
// Hyperswarm → 2020117-agent → the WebUI, with the same probes the WebUI's own tests run directly.

import { randomBytes, createHash } from 'node:crypto'
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  probeConcurrent,
  probeDownload,
  probeSseProgress,
  probeTxt2img,
  probeUpload,
  probeWebSocketProgress
} from '@2020117/webui/testing'
import { asIPv4, processSockets, spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'

const network = await startTestNetwork({ webuiStepDelayMs: 1, teardown: afterAll })
let session: Proc
let base: string

beforeAll(async () => {
  const agent = spawnBin('agent', [network.flag, '--sats-per-minute=5', '--tick-seconds=5', '--json'])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  session = spawnBin('session', [
    network.flag,
    '--budget=1000',
    '--port=0',
    '--yes',
    '--no-repl',
    `--swarm-key=${ready.swarm_key}`
  ])
  base = (await session.line(/tunnel open: (http:\/\/\S+)/)).match(/(http:\/\/127\.0\.0\.1:\d+)/)?.[1] as string
}, 60_000)

test('the local listener binds 127.0.0.1, as the OS sees it', async () => {
  expect(new URL(base).hostname).toBe('127.0.0.1')
  const listening = (await processSockets(session.pid)).filter((s) => s.listening)
  expect(listening.map((s) => s.localPort)).toContain(Number(new URL(base).port))
  for (const s of listening) expect(asIPv4(s.localAddress) ?? s.localAddress).toBe('127.0.0.1')
  // The DHT's UDP sockets are on loopback too.
  const udp = (await processSockets(session.pid)).filter((s) => s.protocol.startsWith('udp'))
  expect(udp.length).toBeGreaterThan(0)
  for (const s of udp) expect(asIPv4(s.localAddress) ?? s.localAddress).toBe('127.0.0.1')
})

test('the WebUI page loads', async () => {
  const res = await fetch(`${base}/`)
  expect(res.status).toBe(200)
  const html = await res.text()
  expect(html).toContain('id="prompt"')
  expect(html).toContain('id="generate"')
})

test('txt2img returns a valid PNG', async () => {
  const { width, height } = await probeTxt2img(base, { prompt: 'a red fox', seed: 1, width: 96, height: 64 })
  expect([width, height]).toEqual([96, 64])
})

test('WebSocket progress arrives incrementally', async () => {
  expect(await probeWebSocketProgress(base, { steps: 5 })).toEqual([1, 2, 3, 4, 5])
})

test('SSE progress arrives incrementally', async () => {
  expect(await probeSseProgress(base, { steps: 4 })).toEqual([1, 2, 3, 4])
})

test('a 50 MiB binary upload and a 50 MiB download match by SHA-256', async () => {
  const bytes = randomBytes(50 * 1024 * 1024)
  const up = await probeUpload(base, bytes)
  expect(up).toEqual({ bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') })
  const down = await probeDownload(base, 50 * 1024 * 1024, 7)
  expect(down.bytes).toBe(50 * 1024 * 1024)
})

test('100 concurrent requests all succeed', async () => {
  const result = await probeConcurrent(base, 100)
  expect(result.errors).toEqual([])
  expect(result.failed).toBe(0)
  expect(result.ok).toBe(200)
})
