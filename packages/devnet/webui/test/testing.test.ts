// The probes of @2020117/webui/testing: each passes against a real WebUI, and each throws (or
// counts failures) against a small local server that misbehaves the way a broken tunnel would.

import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer, type WebSocket } from 'ws'
import { downloadBytes, renderImage, startWebUI, type RunningWebUI } from '../src/index.js'
import {
  ProbeError,
  probeConcurrent,
  probeDownload,
  probeSseProgress,
  probeTxt2img,
  probeUpload,
  probeWebSocketProgress
} from '../src/testing.js'
import { json, request } from './helpers.js'

let webui: RunningWebUI
const cleanups: Array<() => Promise<unknown> | unknown> = []

beforeAll(async () => {
  webui = await startWebUI({ port: 0, stepDelayMs: 1 })
})

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

afterAll(async () => {
  await webui?.close()
})

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>

/** A loopback HTTP server (optionally with a WebSocket endpoint) closed after the test. */
async function fakeServer(
  routes: Record<string, Route>,
  onSocket?: (ws: WebSocket, req: IncomingMessage) => void
): Promise<string> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake.invalid')
    const route = routes[url.pathname]
    if (!route) return void res.writeHead(404).end()
    void Promise.resolve(route(req, res, url)).catch((err: unknown) => res.destroy(err as Error))
  })
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  if (onSocket) {
    const wss = new WebSocketServer({ server, path: '/queue/join' })
    wss.on('connection', onSocket)
    cleanups.push(() => {
      for (const ws of wss.clients) ws.terminate()
      wss.close()
    })
  }
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
}

async function drain(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const png64 = (prompt: string, seed: number, width = 64, height = 64): string =>
  renderImage({ prompt, seed, width, height }).toString('base64')

async function idle(): Promise<void> {
  const state = json(await request(`${webui.url}/sdapi/v1/progress`))
  expect(state.state).toMatchObject({ job_count: 0 })
}

describe('against the real WebUI', () => {
  it('probeTxt2img returns the PNG that renderImage makes', async () => {
    const result = await probeTxt2img(webui.url, { prompt: 'probe fox', seed: 42, width: 96, height: 64 })
    expect(result.width).toBe(96)
    expect(result.height).toBe(64)
    expect(result.png.equals(renderImage({ prompt: 'probe fox', seed: 42, width: 96, height: 64 }))).toBe(true)
  })

  it('probeWebSocketProgress sees every paced step, in order, then the image', async () => {
    expect(await probeWebSocketProgress(webui.url, { steps: 5 })).toEqual([1, 2, 3, 4, 5])
    expect(
      await probeWebSocketProgress(`${webui.url}/`, { steps: 1, prompt: 'one step', seed: 3, width: 80, height: 72 })
    ).toEqual([1])
    await idle()
  })

  it('probeSseProgress sees every paced step, in order, then the image', async () => {
    expect(await probeSseProgress(webui.url, { steps: 4, prompt: 'sse probe', seed: 9 })).toEqual([1, 2, 3, 4])
    await idle()
  })

  it('probeUpload round-trips a streamed body by length and SHA-256', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17)
    for (let i = 0; i < 256; i++) data[i] = i
    const sha256 = createHash('sha256').update(data).digest('hex')
    expect(await probeUpload(webui.url, data)).toEqual({ bytes: data.length, sha256 })
    expect(await probeUpload(webui.url, data.subarray(0, 1000), { chunkBytes: 7 })).toEqual({
      bytes: 1000,
      sha256: createHash('sha256').update(data.subarray(0, 1000)).digest('hex')
    })
    expect((await probeUpload(webui.url, Buffer.alloc(0))).bytes).toBe(0)
  })

  it('probeDownload streams and verifies the specified bytes', async () => {
    const n = 5 * 1024 * 1024 + 123
    const result = await probeDownload(webui.url, n, 7)
    expect(result.bytes).toBe(n)
    expect(result.sha256).toBe(createHash('sha256').update(downloadBytes(n, 7)).digest('hex'))
    expect((await probeDownload(webui.url, 0)).bytes).toBe(0)
  })

  it('probeConcurrent gets every request right, pooled and on fresh connections', async () => {
    const result = await probeConcurrent(webui.url, 40)
    expect(result.errors).toEqual([])
    expect(result).toMatchObject({ ok: 80, failed: 0 })
    // 40 requests over a pool of at most 16 kept-alive connections, then one connection each.
    expect(result.connections.keepAlive).toBeGreaterThan(0)
    expect(result.connections.keepAlive).toBeLessThanOrEqual(16)
    expect(result.connections.fresh).toBe(40)
    await idle()
  })
})

describe('against a misbehaving server', () => {
  it('probeTxt2img throws on a different image and on a wrong size', async () => {
    let mode: 'seed' | 'size' = 'seed'
    const base = await fakeServer({
      '/sdapi/v1/txt2img': async (req, res) => {
        const body = JSON.parse((await drain(req)).toString()) as { prompt: string; seed: number }
        const image = mode === 'seed' ? png64(body.prompt, body.seed + 1) : png64(body.prompt, body.seed, 65, 64)
        sendJson(res, { images: [image], info: JSON.stringify({ seed: body.seed }) })
      }
    })
    const opts = { prompt: 'p', seed: 1, width: 64, height: 64 }
    await expect(probeTxt2img(base, opts)).rejects.toThrow(
      /probeTxt2img: image for prompt "p" seed 1: expected "renderImage\(\) output .*", got ".*bytes, sha256/
    )
    mode = 'size'
    const err = await probeTxt2img(base, opts).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ProbeError)
    expect((err as ProbeError).message).toBe('probeTxt2img: image size: expected "64x64", got "65x64"')
  })

  /** A Gradio queue that skips a step or runs ahead of its events, per `flaw`. */
  async function fakeGradio(flaw: 'skip' | 'ahead'): Promise<{ base: string; origins: Array<string | undefined> }> {
    const origins: Array<string | undefined> = []
    let socket: WebSocket | null = null
    let step = 0
    const progress = (index: number) => ({
      msg: 'progress',
      progress_data: [{ index, length: 3, unit: 'steps', progress: index / 3, desc: null }]
    })
    const base = await fakeServer(
      {
        '/sdapi/v1/progress': (_req, res) =>
          sendJson(res, {
            progress: 0,
            state: { job: 'task(j1)', sampling_step: flaw === 'ahead' ? 3 : step, sampling_steps: 3 }
          }),
        '/jobs/advance': (_req, res) => {
          sendJson(res, { job_id: 'j1', step, total: 3 })
          step = flaw === 'skip' ? step + 2 : step + 1
          socket?.send(JSON.stringify(progress(step)))
        }
      },
      (ws, req) => {
        socket = ws
        origins.push(req.headers.origin)
        ws.send(JSON.stringify({ msg: 'send_hash' }))
        let n = 0
        ws.on('message', () => {
          if (++n === 1) {
            ws.send(JSON.stringify({ msg: 'estimation', rank: 0 }))
            ws.send(JSON.stringify({ msg: 'send_data' }))
          } else {
            step = 1
            ws.send(JSON.stringify({ msg: 'process_starts', job_id: 'j1' }))
            ws.send(JSON.stringify(progress(1)))
          }
        })
      }
    )
    return { base, origins }
  }

  it('probeWebSocketProgress sends a browser Origin and throws when a step is skipped', async () => {
    const { base, origins } = await fakeGradio('skip')
    await expect(probeWebSocketProgress(base, { steps: 3 })).rejects.toThrow(
      /probeWebSocketProgress: progress event 2: expected .*"index":2.*, got .*"index":3/
    )
    expect(origins).toEqual([base])
  })

  it('probeWebSocketProgress throws when the server is already past the step it reported', async () => {
    const { base } = await fakeGradio('ahead')
    await expect(probeWebSocketProgress(base, { steps: 3 })).rejects.toThrow(
      'probeWebSocketProgress: server progress when event 1 of 3 arrived: expected {"job":"task(j1)","sampling_step":1,"sampling_steps":3}, got {"job":"task(j1)","sampling_step":3,"sampling_steps":3}'
    )
  })

  it('probeWebSocketProgress throws when the handshake is refused', async () => {
    const base = await fakeServer({ '/queue/join': (_req, res) => void res.writeHead(403).end() })
    await expect(probeWebSocketProgress(base, { steps: 2 })).rejects.toThrow(
      /handshake .*expected "101 Switching Protocols", got "403 Forbidden"/
    )
  })

  it('probeSseProgress never finishes through a proxy that buffers the stream (stopped by its signal)', async () => {
    const upstream = new URL(webui.url)
    let buffering = true
    const stop = new AbortController()
    const base = await fakeServer({
      '/sse/progress': (req, res) => {
        const up = http.request(
          { host: upstream.hostname, port: upstream.port, path: req.url, headers: req.headers },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers)
            res.flushHeaders()
            const held: Buffer[] = []
            upRes.on('data', (chunk: Buffer) => {
              if (!buffering) return void res.write(chunk)
              held.push(chunk)
              // The first progress event is now held here, not delivered: the probe must not pass.
              if (Buffer.concat(held).includes('event: progress')) stop.abort()
            })
            upRes.on('end', () => res.end(Buffer.concat(held)))
          }
        )
        up.on('error', () => res.destroy())
        res.on('close', () => up.destroy())
        up.end()
      },
      // The probe's own checks go straight through.
      '/sdapi/v1/progress': async (_req, res) => sendJson(res, json(await request(`${webui.url}/sdapi/v1/progress`))),
      '/jobs/advance': async (req, res, url) =>
        sendJson(res, json(await request(`${webui.url}/jobs/advance${url.search}`, { method: 'POST' })))
    })
    await expect(probeSseProgress(base, { steps: 3, signal: stop.signal })).rejects.toThrow(
      /^probeSseProgress: aborted while waiting for (the SSE response headers|SSE event start)$/
    )
    // The same proxy without buffering passes, so it was the buffering that the probe caught.
    buffering = false
    expect(await probeSseProgress(base, { steps: 3 })).toEqual([1, 2, 3])
  })

  it('probeSseProgress throws on a wrong image and on an error event', async () => {
    let flaw: 'image' | 'error' = 'image'
    const base = await fakeServer({
      '/sse/progress': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write(`event: start\ndata: ${JSON.stringify({ job_id: 'j', paced: true })}\n\n`)
        if (flaw === 'error')
          return void res.end(`event: error\ndata: ${JSON.stringify({ code: 'INTERNAL', detail: 'boom' })}\n\n`)
        res.write(`event: progress\r\ndata: ${JSON.stringify({ job_id: 'j', step: 1, total: 1 })}\r\n\r\n`)
        res.end(
          `event: complete\ndata: ${JSON.stringify({ job_id: 'j', image: `data:image/png;base64,${png64('other', 1)}` })}\n\n`
        )
      }
    })
    await expect(probeSseProgress(base, { steps: 1 })).rejects.toThrow(
      /probeSseProgress: image for prompt "sse probe" seed 20117: expected/
    )
    flaw = 'error'
    await expect(probeSseProgress(base, { steps: 1 })).rejects.toThrow(
      /SSE event: expected "progress step 1 of 1", got "an error event .*boom/
    )
  })

  it('probeUpload throws when the server reports another hash or length', async () => {
    let flaw: 'hash' | 'length' = 'hash'
    const base = await fakeServer({
      '/upload': async (req, res) => {
        const body = await drain(req)
        const sha256 = createHash('sha256').update(body).digest('hex')
        if (flaw === 'hash')
          sendJson(res, { bytes: body.length, sha256: sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) })
        else sendJson(res, { bytes: body.length - 1, sha256 })
      }
    })
    const data = randomBytes(300_000)
    await expect(probeUpload(base, data)).rejects.toThrow(
      /probeUpload: sha256 computed by the server: expected "[0-9a-f]{64}", got "[0-9a-f]{64}"/
    )
    flaw = 'length'
    await expect(probeUpload(base, data)).rejects.toThrow(
      'probeUpload: bytes received by the server: expected 300000, got 299999'
    )
  })

  it('probeDownload throws on a flipped byte and on a cut-off body', async () => {
    let flaw: 'flip' | 'cut' = 'flip'
    const base = await fakeServer({
      '/download': (_req, res, url) => {
        const n = Number(url.searchParams.get('bytes'))
        const bytes = downloadBytes(n, Number(url.searchParams.get('seed')))
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n })
        if (flaw === 'flip') {
          bytes.writeUInt8(bytes.readUInt8(n >> 1) ^ 0x01, n >> 1)
          res.end(bytes)
        } else {
          res.write(bytes.subarray(0, n - 10), () => res.destroy())
        }
      }
    })
    await expect(probeDownload(base, 200_000, 5)).rejects.toThrow(
      /probeDownload: sha256 of the 200000-byte download \(seed 5\): expected "[0-9a-f]{64}", got/
    )
    flaw = 'cut'
    await expect(probeDownload(base, 200_000, 5)).rejects.toThrow(
      /probeDownload: download body: expected "200000 bytes", got "199990 bytes, then/
    )
  })

  it('probeConcurrent counts the requests a server fails', async () => {
    let n = 0
    const base = await fakeServer({
      '/': (_req, res) => {
        if (++n % 3 === 0) return void res.writeHead(500).end('no')
        res.writeHead(200, { 'content-type': 'text/html' }).end('<title>fake</title>')
      },
      '/sdapi/v1/txt2img': async (req, res) => {
        const body = JSON.parse((await drain(req)).toString()) as { prompt: string; seed: number }
        if (++n % 3 === 0) return void res.destroy()
        sendJson(res, { images: [png64(body.prompt, body.seed)] })
      }
    })
    const result = await probeConcurrent(base, 12, { maxSockets: 4 })
    expect(result.ok + result.failed).toBe(24)
    expect(result.failed).toBe(8)
    expect(result.connections.fresh).toBe(12 - 4)
    expect(result.errors.join('\n')).toMatch(/status: expected 200, got "500 no"/)
    expect(result.errors.join('\n')).toMatch(/POST \/sdapi\/v1\/txt2img: expected "a response"/)
  })
})
