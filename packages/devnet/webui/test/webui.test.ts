import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import vm from 'node:vm'
import { PNG } from 'pngjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import {
  downloadBytes,
  downloadSha256,
  MAX_JSON_BYTES,
  renderImage,
  startWebUI,
  WebUIError,
  type RunningWebUI
} from '../src/index.js'
import { json, MessageQueue, request, sseEvents } from './helpers.js'

let webui: RunningWebUI
let wsUrl: string

beforeAll(async () => {
  webui = await startWebUI({ port: 0, stepDelayMs: 1 })
  wsUrl = `${webui.url.replace('http:', 'ws:')}/queue/join`
})

afterAll(async () => {
  await webui?.close()
})

function decodePng(png: Buffer): PNG {
  return PNG.sync.read(png)
}

function dataUrlPng(dataUrl: string): Buffer {
  const prefix = 'data:image/png;base64,'
  expect(dataUrl.startsWith(prefix)).toBe(true)
  return Buffer.from(dataUrl.slice(prefix.length), 'base64')
}

async function advance(jobId: string): Promise<void> {
  const reply = await request(`${webui.url}/jobs/advance?id=${jobId}`, { method: 'POST' })
  expect(reply.status).toBe(200)
}

describe('server basics', () => {
  it('binds to 127.0.0.1 by default and reports the real port', () => {
    expect(webui.host).toBe('127.0.0.1')
    expect(webui.port).toBeGreaterThan(0)
    expect(webui.url).toBe(`http://127.0.0.1:${webui.port}`)
  })

  it('survives a client that resets the connection after an upgrade it refused', async () => {
    // Once a socket is upgraded, node's HTTP server no longer handles its errors: an ECONNRESET on
    // the refused upgrade's socket used to be an uncaught exception that took the process down.
    const sock = net.connect(webui.port, '127.0.0.1')
    sock.on('error', () => {})
    sock.write('GET /not-the-queue HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
    const [answer] = (await once(sock, 'data')) as [Buffer]
    expect(answer.toString()).toMatch(/^HTTP\/1.1 404/)
    const closed = new Promise((resolve) => sock.once('close', resolve))
    sock.resetAndDestroy()
    await closed
    expect(json(await request(`${webui.url}/healthz`))).toEqual({ ok: true })
  })

  it('answers /healthz, and unknown paths with a JSON 404', async () => {
    expect(json(await request(`${webui.url}/healthz`))).toEqual({ ok: true })
    const missing = await request(`${webui.url}/no/such/path`)
    expect(missing.status).toBe(404)
    expect(missing.headers['content-type']).toMatch(/^application\/json/)
    expect(json(missing)).toMatchObject({ error: 'Not Found', code: 'NOT_FOUND' })
  })

  it('refuses a wrong method with 405 and an Allow header', async () => {
    const reply = await request(`${webui.url}/sdapi/v1/txt2img`)
    expect(reply.status).toBe(405)
    expect(reply.headers.allow).toBe('POST')
    expect(json(reply).code).toBe('METHOD_NOT_ALLOWED')
  })

  it('echoes the received Host, Origin and other headers on /debug/headers', async () => {
    const reply = await request(`${webui.url}/debug/headers?x=1`, {
      headers: { host: 'rented.example:443', origin: 'https://rented.example', 'x-custom': 'yes' }
    })
    const body = json(reply)
    expect(body.host).toBe('rented.example:443')
    expect(body.url).toBe('/debug/headers?x=1')
    expect(body.headers).toMatchObject({ origin: 'https://rented.example', 'x-custom': 'yes' })
  })

  it('keeps HTTP/1.1 connections alive across requests, including uploads', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const first = await request(`${webui.url}/healthz`, { agent })
      const second = await request(`${webui.url}/upload`, { method: 'POST', agent, body: Buffer.from('abc') })
      const third = await request(`${webui.url}/debug/headers`, { agent })
      expect(first.reused).toBe(false)
      expect(second.reused).toBe(true)
      expect(third.reused).toBe(true)
      expect(json(third).headers.connection).toBe('keep-alive')
    } finally {
      agent.destroy()
    }
  })

  it('answers 426 to a plain GET of the WebSocket path, and refuses upgrades elsewhere', async () => {
    const plain = await request(`${webui.url}/queue/join`)
    expect(plain.status).toBe(426)
    expect(json(plain).code).toBe('UPGRADE_REQUIRED')
    const ws = new WebSocket(`${webui.url.replace('http:', 'ws:')}/not-a-socket`)
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage]
    expect(res.statusCode).toBe(404)
    // Aborting a handshake that never completed reports an error; it is the expected outcome here.
    ws.on('error', () => {})
    ws.terminate()
  })
})

describe('page', () => {
  const ids = [
    'prompt',
    'seed',
    'steps',
    'width',
    'height',
    'generate',
    'progress',
    'progress-bar',
    'progress-text',
    'result',
    'info',
    'error',
    'form'
  ]

  async function fetchPage(): Promise<{ html: string; script: string }> {
    const reply = await request(`${webui.url}/`)
    expect(reply.status).toBe(200)
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8')
    const html = reply.body.toString('utf8')
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1]
    if (script === undefined) throw new Error('no inline script')
    return { html, script }
  }

  // Just enough DOM for the page script: elements by id, dataset/style/text, and a submit listener.
  class FakeElement {
    value = ''
    dataset: Record<string, string> = {}
    style: Record<string, string> = {}
    hidden = false
    disabled = false
    src = ''
    listeners = new Map<string, (event: unknown) => void>()
    onText: (() => void) | null = null
    private text = ''
    get textContent(): string {
      return this.text
    }
    set textContent(value: string) {
      this.text = value
      this.onText?.()
    }
    addEventListener(type: string, fn: (event: unknown) => void): void {
      this.listeners.set(type, fn)
    }
  }

  function runPage(script: string, location: string, WebSocketImpl: unknown): Record<string, FakeElement> {
    const elements = Object.fromEntries(ids.map((id) => [id, new FakeElement()]))
    const document = { getElementById: (id: string) => elements[id] ?? null }
    vm.runInNewContext(script, { document, location: new URL(location), WebSocket: WebSocketImpl, URL })
    return elements
  }

  function submit(elements: Record<string, FakeElement>): void {
    elements['form']!.listeners.get('submit')!({ preventDefault() {} })
  }

  it('is one self-contained page with the stable ids the browser test uses', async () => {
    const { html, script } = await fetchPage()
    expect(html).toContain('<title>2020117 demo WebUI</title>')
    for (const id of ids) expect(html).toContain(`id="${id}"`)
    expect(html).toMatch(/<img id="result"/)
    // No external resources: nothing to fetch from an offline machine.
    expect(html).not.toMatch(/<link|@import|url\(|src="http|href="http/)
    // Every element the script looks up exists in the markup.
    for (const [, id] of script.matchAll(/\$\('([\w-]+)'\)/g)) expect(html).toContain(`id="${id}"`)
  })

  it('derives the WebSocket URL from location (host, port, wss for https, path prefix)', async () => {
    const { script } = await fetchPage()
    const opened: string[] = []
    class RecordingSocket {
      constructor(url: string) {
        opened.push(url)
      }
    }
    submit(runPage(script, 'https://tunnel.example:8443/rent/abc/', RecordingSocket))
    submit(runPage(script, 'http://127.0.0.1:9999/?q=1#x', RecordingSocket))
    expect(opened).toEqual(['wss://tunnel.example:8443/rent/abc/queue/join', 'ws://127.0.0.1:9999/queue/join'])
  })

  it('runs a generation end to end against the server: live progress, then the image', async () => {
    const { script } = await fetchPage()
    const elements = runPage(script, `${webui.url}/`, WebSocket)
    const progress = elements['progress']!
    const text = elements['progress-text']!
    const seen: string[] = []
    const finished = new Promise<void>((resolve) => {
      text.onText = () => {
        seen.push(`${progress.dataset['state']}:${progress.dataset['step']}`)
        if (progress.dataset['state'] === 'done' || progress.dataset['state'] === 'error') resolve()
      }
    })
    Object.assign(elements['prompt']!, { value: 'a red fox' })
    Object.assign(elements['seed']!, { value: '42' })
    Object.assign(elements['steps']!, { value: '4' })
    Object.assign(elements['width']!, { value: '96' })
    Object.assign(elements['height']!, { value: '64' })
    submit(elements)
    expect(elements['generate']!.disabled).toBe(true)
    await finished

    expect(elements['error']!.hidden).toBe(true)
    expect(seen.filter((s) => s.startsWith('running:'))).toEqual([
      'running:0',
      'running:1',
      'running:2',
      'running:3',
      'running:4'
    ])
    expect(seen.at(-1)).toBe('done:4')
    expect(text.textContent).toBe('Done: 4 / 4 steps')
    const result = elements['result']!
    expect(result.hidden).toBe(false)
    expect(result.dataset['seed']).toBe('42')
    expect(dataUrlPng(result.src).equals(renderImage({ prompt: 'a red fox', seed: 42, width: 96, height: 64 }))).toBe(
      true
    )
  })
})

describe('renderImage', () => {
  it('is deterministic in prompt, seed and size', () => {
    const a = renderImage({ prompt: 'cat', seed: 1, width: 80, height: 70 })
    expect(renderImage({ prompt: 'cat', seed: 1, width: 80, height: 70 }).equals(a)).toBe(true)
    expect(renderImage({ prompt: 'cat', seed: 2, width: 80, height: 70 }).equals(a)).toBe(false)
    expect(renderImage({ prompt: 'dog', seed: 1, width: 80, height: 70 }).equals(a)).toBe(false)
    const png = decodePng(a)
    expect([png.width, png.height]).toEqual([80, 70])
  })
})

describe('POST /sdapi/v1/txt2img', () => {
  async function txt2img(body: unknown): Promise<{ status: number; body: any }> {
    const reply = await request(`${webui.url}/sdapi/v1/txt2img`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(body))
    })
    return { status: reply.status, body: json(reply) }
  }

  it('returns a PNG of the requested size, deterministic for prompt + seed', async () => {
    const first = await txt2img({ prompt: 'a lighthouse', seed: 1234, steps: 3, width: 200, height: 120 })
    expect(first.status).toBe(200)
    const png = Buffer.from(first.body.images[0], 'base64')
    const decoded = decodePng(png)
    expect([decoded.width, decoded.height]).toEqual([200, 120])
    expect(png.equals(renderImage({ prompt: 'a lighthouse', seed: 1234, width: 200, height: 120 }))).toBe(true)
    expect(first.body.parameters).toMatchObject({
      prompt: 'a lighthouse',
      seed: 1234,
      steps: 3,
      width: 200,
      height: 120
    })
    expect(JSON.parse(first.body.info)).toMatchObject({ seed: 1234, all_seeds: [1234], width: 200, height: 120 })

    const again = await txt2img({ prompt: 'a lighthouse', seed: 1234, steps: 5, width: 200, height: 120 })
    expect(again.body.images[0]).toBe(first.body.images[0])
    const other = await txt2img({ prompt: 'a lighthouse', seed: 1235, steps: 3, width: 200, height: 120 })
    expect(other.body.images[0]).not.toBe(first.body.images[0])
  })

  it('resolves seed -1 to a concrete seed, reported in info, and batches with seed + i', async () => {
    const { status, body } = await txt2img({ prompt: 'p', seed: -1, steps: 1, width: 64, height: 64, batch_size: 3 })
    expect(status).toBe(200)
    const info = JSON.parse(body.info)
    expect(body.parameters.seed).toBe(-1)
    expect(info.seed).toBeGreaterThanOrEqual(0)
    expect(info.all_seeds).toEqual([info.seed, info.seed + 1, info.seed + 2])
    expect(body.images).toHaveLength(3)
    body.images.forEach((image: string, i: number) => {
      const expected = renderImage({ prompt: 'p', seed: info.seed + i, width: 64, height: 64 })
      expect(Buffer.from(image, 'base64').equals(expected)).toBe(true)
    })
  })

  it('applies A1111 defaults (512x512, one image)', async () => {
    const { body } = await txt2img({ prompt: 'defaults', seed: 5, steps: 1 })
    expect(body.images).toHaveLength(1)
    const decoded = decodePng(Buffer.from(body.images[0], 'base64'))
    expect([decoded.width, decoded.height]).toEqual([512, 512])
  })

  it('answers malformed JSON with 400 and out-of-range values with 422', async () => {
    const bad = await request(`${webui.url}/sdapi/v1/txt2img`, { method: 'POST', body: Buffer.from('{"prompt": ') })
    expect(bad.status).toBe(400)
    expect(json(bad)).toMatchObject({ error: 'Bad Request', code: 'BAD_JSON' })
    expect(typeof json(bad).detail).toBe('string')

    for (const [field, value] of [
      ['steps', 0],
      ['steps', 151],
      ['width', 63],
      ['height', 2049],
      ['batch_size', 9],
      ['seed', -2],
      ['seed', 2 ** 32],
      ['steps', 2.5],
      ['prompt', 7]
    ] as const) {
      const { status, body } = await txt2img({ prompt: 'x', [field]: value })
      expect(status, `${field}=${value}`).toBe(422)
      expect(body).toMatchObject({ code: 'INVALID_PARAMETER', field })
    }
    const notObject = await txt2img([1, 2])
    expect(notObject.status).toBe(422)
  })

  it('answers an oversized body with 413 and keeps the connection usable', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const declared = await request(`${webui.url}/sdapi/v1/txt2img`, {
        method: 'POST',
        agent,
        body: Buffer.alloc(MAX_JSON_BYTES + 1, 0x20)
      })
      expect(declared.status).toBe(413)
      expect(json(declared).code).toBe('BODY_TOO_LARGE')
      // Chunked, so the server only notices while reading.
      const streamed = await request(`${webui.url}/sdapi/v1/txt2img`, {
        method: 'POST',
        agent,
        body: Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 0x20))
      })
      expect(streamed.status).toBe(413)
      expect(streamed.reused).toBe(true)
      const after = await request(`${webui.url}/healthz`, { agent })
      expect(after.status).toBe(200)
      expect(after.reused).toBe(true)
    } finally {
      agent.destroy()
    }
  })

  it('serves 20 concurrent requests, each with its own result', async () => {
    const seeds = Array.from({ length: 20 }, (_, i) => 100 + i)
    const replies = await Promise.all(
      seeds.map((seed) => txt2img({ prompt: 'crowd', seed, steps: 4, width: 64, height: 64 }))
    )
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200)
      const expected = renderImage({ prompt: 'crowd', seed: seeds[i]!, width: 64, height: 64 })
      expect(Buffer.from(reply.body.images[0], 'base64').equals(expected)).toBe(true)
    })
  })
})

describe('Gradio 3 queue over WebSocket /queue/join', () => {
  async function handshake(queue: MessageQueue): Promise<void> {
    expect(await queue.next()).toEqual({ msg: 'send_hash' })
    queue.send({ fn_index: 0, session_hash: 'test-session' })
    expect(await queue.next()).toMatchObject({ msg: 'estimation', rank: 0 })
    expect(await queue.next()).toEqual({ msg: 'send_data' })
  }

  it('runs the Gradio sequence and delivers every progress step before the next is produced', async () => {
    const queue = await MessageQueue.open(wsUrl)
    await handshake(queue)
    queue.send({ data: ['a paced fox', 7, 5, 96, 72], fn_index: 0, session_hash: 'test-session', paced: true })
    const starts = await queue.next()
    expect(starts.msg).toBe('process_starts')

    for (let step = 1; step <= 5; step++) {
      expect(await queue.next()).toEqual({
        msg: 'progress',
        progress_data: [{ index: step, length: 5, unit: 'steps', progress: step / 5, desc: null }]
      })
      if (step === 5) break
      // The paced job holds before each further step until advanced, so this event reached us
      // while the server had produced exactly `step` steps: progress is not buffered.
      const state = json(await request(`${webui.url}/sdapi/v1/progress`))
      expect(state.state).toMatchObject({ job: `task(${starts.job_id})`, sampling_step: step, sampling_steps: 5 })
      await advance(starts.job_id)
    }

    const done = await queue.next()
    expect(done).toMatchObject({ msg: 'process_completed', success: true, output: { is_generating: false } })
    const png = dataUrlPng(done.output.data[0])
    expect(png.equals(renderImage({ prompt: 'a paced fox', seed: 7, width: 96, height: 72 }))).toBe(true)
    expect(JSON.parse(done.output.data[1])).toMatchObject({ seed: 7, steps: 5 })
    const [code] = await queue.closedWith
    expect(code).toBe(1000)
  })

  it('streams unpaced jobs too, one progress message per step, in order', async () => {
    const queue = await MessageQueue.open(wsUrl)
    await handshake(queue)
    queue.send({ data: ['quick', 3, 6, 64, 64], fn_index: 0, session_hash: 'test-session' })
    const kinds: string[] = []
    const indices: number[] = []
    for (;;) {
      const msg = await queue.next()
      kinds.push(msg.msg)
      if (msg.msg === 'progress') indices.push(msg.progress_data[0].index)
      if (msg.msg === 'process_completed') {
        expect(msg.success).toBe(true)
        break
      }
    }
    expect(kinds).toEqual(['process_starts', ...Array(6).fill('progress'), 'process_completed'])
    expect(indices).toEqual([1, 2, 3, 4, 5, 6])
    await queue.closedWith
  })

  it('reports invalid input as process_completed with success false, then closes', async () => {
    const queue = await MessageQueue.open(wsUrl)
    await handshake(queue)
    queue.send({ data: ['x', 1, 999, 64, 64], fn_index: 0, session_hash: 'test-session' })
    expect(await queue.next()).toMatchObject({
      msg: 'process_completed',
      success: false,
      output: { code: 'INVALID_PARAMETER' }
    })
    await queue.closedWith

    const garbled = await MessageQueue.open(wsUrl)
    expect((await garbled.next()).msg).toBe('send_hash')
    garbled.ws.send('not json')
    expect(await garbled.next()).toMatchObject({
      msg: 'process_completed',
      success: false,
      output: { code: 'BAD_JSON' }
    })
    await garbled.closedWith
  })
})

describe('SSE progress GET /sse/progress', () => {
  it('streams unbuffered events: each step arrives before the next is produced', async () => {
    const res = await fetch(`${webui.url}/sse/progress?prompt=sse%20owl&seed=11&steps=4&width=72&height=80&paced=1`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('x-accel-buffering')).toBe('no')

    const events: string[] = []
    let jobId = ''
    let complete: any = null
    for await (const { event, data } of sseEvents(res.body!)) {
      events.push(event === 'progress' ? `progress:${data.step}/${data.total}` : event)
      if (event === 'start') jobId = data.job_id
      if (event === 'progress' && data.step < data.total) {
        // Paced: the server holds before the next step until we advance, so receiving this event
        // proves it was flushed on its own.
        const state = json(await request(`${webui.url}/sdapi/v1/progress`))
        expect(state.state.sampling_step).toBe(data.step)
        expect(state.progress).toBe(data.step / 4)
        await advance(jobId)
      }
      if (event === 'complete') complete = data
    }
    expect(events).toEqual(['start', 'progress:1/4', 'progress:2/4', 'progress:3/4', 'progress:4/4', 'complete'])
    expect(complete.job_id).toBe(jobId)
    expect(complete.seed).toBe(11)
    expect(dataUrlPng(complete.image).equals(renderImage({ prompt: 'sse owl', seed: 11, width: 72, height: 80 }))).toBe(
      true
    )
  })

  it('refuses bad parameters with 422 before starting a stream', async () => {
    const res = await fetch(`${webui.url}/sse/progress?prompt=x&steps=abc`)
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ code: 'INVALID_PARAMETER', field: 'steps' })
  })

  it('reports an idle server on /sdapi/v1/progress once jobs are done', async () => {
    const state = json(await request(`${webui.url}/sdapi/v1/progress`))
    expect(state).toMatchObject({ progress: 0, eta_relative: 0, current_image: null })
    expect(state.state).toMatchObject({ job_count: 0, sampling_step: 0 })
  })

  it('answers 404 JOB_NOT_FOUND when advancing an unknown job', async () => {
    const reply = await request(`${webui.url}/jobs/advance?id=nope`, { method: 'POST' })
    expect(reply.status).toBe(404)
    expect(json(reply).code).toBe('JOB_NOT_FOUND')
  })
})

describe('bulk transfer', () => {
  it('round-trips a 10 MiB streamed upload with every byte value by SHA-256', async () => {
    const data = randomBytes(10 * 1024 * 1024)
    for (let i = 0; i < 256; i++) data[i] = i
    const chunks: Buffer[] = []
    for (let at = 0; at < data.length; at += 100_000) chunks.push(data.subarray(at, at + 100_000))
    const reply = await request(`${webui.url}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-anything' },
      body: chunks
    })
    expect(reply.status).toBe(200)
    expect(json(reply)).toEqual({ bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') })

    // Also with a Content-Length instead of chunked encoding.
    const fixed = await fetch(`${webui.url}/upload`, { method: 'POST', body: data.subarray(0, 777_777) })
    expect(await fixed.json()).toEqual({
      bytes: 777_777,
      sha256: createHash('sha256').update(data.subarray(0, 777_777)).digest('hex')
    })
  })

  it('streams exactly N specified bytes on /download', async () => {
    const n = 3 * 1024 * 1024 + 12_345
    // Recomputed from the documented spec, independently of the server's helper.
    const key = createHash('sha256').update('2020117-webui-download:9').digest()
    const keystream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n))
    const expected = createHash('sha256').update(keystream).digest('hex')

    const res = await fetch(`${webui.url}/download?bytes=${n}&seed=9`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(n))
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    const hash = createHash('sha256')
    let received = 0
    for await (const chunk of res.body! as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk)
      received += chunk.length
    }
    expect(received).toBe(n)
    expect(hash.digest('hex')).toBe(expected)
    expect(downloadSha256(n, 9)).toBe(expected)
    expect(downloadBytes(1000, 9).equals(keystream.subarray(0, 1000))).toBe(true)
    expect(downloadBytes(1000, 10).equals(keystream.subarray(0, 1000))).toBe(false)
  })

  it('serves an empty download and refuses missing or out-of-range sizes', async () => {
    const empty = await request(`${webui.url}/download?bytes=0`)
    expect(empty.status).toBe(200)
    expect(empty.body.length).toBe(0)
    for (const query of ['', '?bytes=', `?bytes=${4 * 1024 ** 3 + 1}`, '?bytes=-1', '?bytes=1e3', '?bytes=5&seed=-1']) {
      const reply = await request(`${webui.url}/download${query}`)
      expect(reply.status, query).toBe(422)
      expect(json(reply).code).toBe('INVALID_PARAMETER')
    }
  })
})

describe('close()', () => {
  it('terminates open WebSockets and SSE streams mid-job and resolves', async () => {
    const local = await startWebUI({ port: 0, stepDelayMs: 1 })
    const queue = await MessageQueue.open(`${local.url.replace('http:', 'ws:')}/queue/join`)
    await queue.next()
    queue.send({ fn_index: 0, session_hash: 's' })
    await queue.next()
    await queue.next()
    queue.send({ data: ['held', 1, 10, 64, 64], fn_index: 0, session_hash: 's', paced: true })
    expect((await queue.next()).msg).toBe('process_starts')
    expect((await queue.next()).msg).toBe('progress')

    const res = await fetch(`${local.url}/sse/progress?steps=10&paced=1`)
    const events = sseEvents(res.body!)
    expect((await events.next()).value?.event).toBe('start')
    expect((await events.next()).value?.event).toBe('progress')

    await local.close()
    await queue.closedWith
    // The stream is cut rather than ended normally: no `complete` event ever arrives.
    const rest = await events.next().then(
      (r) => (r.done ? 'ended' : `event ${r.value.event}`),
      () => 'errored'
    )
    expect(['ended', 'errored']).toContain(rest)
    await expect(fetch(`${local.url}/healthz`)).rejects.toThrow()
  })
})

describe('WebUIError', () => {
  it('carries a stable code, its HTTP status, and the JSON error shape', () => {
    const err = WebUIError.INVALID_PARAMETER('steps', 'must be an integer')
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('INVALID_PARAMETER')
    expect(err.status).toBe(422)
    expect(err.toJSON()).toEqual({
      error: 'Unprocessable Entity',
      code: 'INVALID_PARAMETER',
      detail: 'steps must be an integer',
      field: 'steps'
    })
    expect(WebUIError.BODY_TOO_LARGE(10).status).toBe(413)
  })
})
