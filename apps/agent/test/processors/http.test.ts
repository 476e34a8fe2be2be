// The http(s):// processor against the demo WebUI's A1111 API and small fake Ollama and OpenAI
// servers: the adapter is --api or detected, answers are read under a byte cap and a deadline,
// upstream errors are bounded and stripped, and nothing but the configured origin is contacted.

import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, expect, test } from 'vitest'
import { renderImage, startWebUI, type RunningWebUI } from '@2020117/webui'
import { createProcessor, ProcessorError, TEXT_MIME } from '../../src/processors/index.js'
import { limits, text, work } from './helpers.js'

interface Seen {
  method: string
  url: string
  body: string
}

interface Fake {
  url: string
  seen: Seen[]
  server: http.Server
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void

const open: Array<{ close(): Promise<void> }> = []

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

/** A server on 127.0.0.1:0 that records every request and answers from `routes` (404 JSON otherwise). */
async function fake(routes: Record<string, Route>): Promise<Fake> {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      seen.push({ method: req.method!, url: req.url!, body })
      const route = routes[`${req.method} ${req.url}`]
      if (route) return route(req, res, body)
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  open.push({
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server }
}

const json =
  (value: unknown): Route =>
  (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value))

async function webui(): Promise<RunningWebUI> {
  const running = await startWebUI({ port: 0, stepDelayMs: 1 })
  open.push(running)
  return running
}

async function failure(promise: Promise<unknown>): Promise<ProcessorError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(ProcessorError)
  return err as ProcessorError
}

const picture = {
  kind: 5200,
  input: 'a red fox in the snow',
  params: { seed: '42', width: '64', height: '64', steps: '2' }
}

test('a1111: the prompt and params become txt2img, and the first image is the PNG output', async () => {
  const ui = await webui()
  const out = await createProcessor(ui.url, { api: 'a1111' }).run(work(picture), limits())
  expect(out.mime).toBe('image/png')
  const expected = renderImage({ prompt: picture.input, seed: 42, width: 64, height: 64 })
  expect(Buffer.from(out.data).equals(expected)).toBe(true)
})

test('a1111 is chosen for an image kind when no probe answers, as the demo WebUI does not', async () => {
  const ui = await webui()
  const out = await createProcessor(ui.url).run(work(picture), limits())
  expect(Buffer.from(out.data).equals(renderImage({ prompt: picture.input, seed: 42, width: 64, height: 64 }))).toBe(
    true
  )
})

test('a text kind on an upstream that answers no probe is UPSTREAM_UNSUPPORTED, naming --api', async () => {
  const ui = await webui()
  const err = await failure(createProcessor(ui.url).run(work({ kind: 5050, input: 'hi' }), limits()))
  expect(err.code).toBe('UPSTREAM_UNSUPPORTED')
  expect(err.message).toContain('--api=')
})

test('a1111 params out of bounds are INVALID_PARAMS, and the upstream is not asked', async () => {
  const upstream = await fake({})
  const processor = createProcessor(upstream.url, { api: 'a1111' })
  for (const params of <Array<Record<string, string>>>[
    { steps: '999' },
    { width: '63' },
    { seed: '1e3' },
    { cfg_scale: '31' },
    { negative_prompt: 'n'.repeat(2001) }
  ]) {
    expect((await failure(processor.run(work({ ...picture, params }), limits()))).code).toBe('INVALID_PARAMS')
  }
  expect(upstream.seen).toEqual([])
})

test('a1111 probe wins detection: a server answering /sdapi/v1/options gets txt2img, also for a text kind', async () => {
  const png = renderImage({ prompt: 'x', seed: 1, width: 8, height: 8 })
  const upstream = await fake({
    'GET /sdapi/v1/options': json({ sd_model_checkpoint: 'x' }),
    'POST /sdapi/v1/txt2img': json({ images: [png.toString('base64')], parameters: {}, info: '{}' })
  })
  const out = await createProcessor(upstream.url).run(
    work({ kind: 5050, input: 'x', params: { steps: '3' } }),
    limits()
  )
  expect(Buffer.from(out.data).equals(png)).toBe(true)
  expect(upstream.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /sdapi/v1/options', 'POST /sdapi/v1/txt2img'])
  expect(JSON.parse(upstream.seen[1]!.body)).toEqual({ prompt: 'x', steps: 3 })
})

function fakeOllama(): Promise<Fake> {
  return fake({
    'GET /api/tags': json({ models: [{ name: 'llama3.2' }] }),
    // Ollama also speaks the OpenAI API: detection must still pick its own.
    'GET /v1/models': json({ object: 'list', data: [] }),
    'POST /api/generate': (req, res, body) =>
      json({ model: 'llama3.2', response: `echo: ${JSON.parse(body).prompt}`, done: true })(req, res, body)
  })
}

test('ollama: detected by /api/tags (before /v1/models), asked once per job, the detection kept', async () => {
  const upstream = await fakeOllama()
  const processor = createProcessor(upstream.url, { model: 'llama3.2' })
  const first = await processor.run(work({ kind: 5050, input: 'why is the sky blue?' }), limits())
  expect(text(first.data)).toBe('echo: why is the sky blue?')
  expect(first.mime).toBe(TEXT_MIME)
  await processor.run(work({ kind: 5050, input: 'again' }), limits())
  expect(upstream.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
    'GET /sdapi/v1/options',
    'GET /api/tags',
    'POST /api/generate',
    'POST /api/generate'
  ])
  expect(JSON.parse(upstream.seen[2]!.body)).toEqual({
    model: 'llama3.2',
    prompt: 'why is the sky blue?',
    stream: false
  })
})

test('ollama detected without a model is INVALID_PROCESSOR, and nothing is generated', async () => {
  const upstream = await fakeOllama()
  const err = await failure(createProcessor(upstream.url).run(work({ kind: 5050, input: 'hi' }), limits()))
  expect(err.code).toBe('INVALID_PROCESSOR')
  expect(err.message).toContain('--model=NAME')
  expect(upstream.seen.some((s) => s.url === '/api/generate')).toBe(false)
})

function fakeOpenAI(): Promise<Fake> {
  return fake({
    'GET /v1/models': json({ object: 'list', data: [{ id: 'local' }] }),
    'POST /v1/chat/completions': (req, res, body) => {
      const content = `reply to ${JSON.parse(body).messages[0].content}`
      json({ choices: [{ index: 0, message: { role: 'assistant', content } }] })(req, res, body)
    }
  })
}

test('openai: detected by /v1/models; the input is the user message and choices[0] the output', async () => {
  const upstream = await fakeOpenAI()
  const out = await createProcessor(upstream.url, { model: 'local' }).run(
    work({ kind: 5050, input: 'hello' }),
    limits()
  )
  expect(text(out.data)).toBe('reply to hello')
  expect(upstream.seen.map((s) => s.url)).toEqual([
    '/sdapi/v1/options',
    '/api/tags',
    '/v1/models',
    '/v1/chat/completions'
  ])
  expect(JSON.parse(upstream.seen[3]!.body)).toEqual({ model: 'local', messages: [{ role: 'user', content: 'hello' }] })
})

test('openai with --api probes nothing, and sends no model when none is configured', async () => {
  const upstream = await fakeOpenAI()
  await createProcessor(upstream.url, { api: 'openai' }).run(work({ kind: 5050, input: 'hi' }), limits())
  expect(upstream.seen.map((s) => s.url)).toEqual(['/v1/chat/completions'])
  expect(JSON.parse(upstream.seen[0]!.body)).toEqual({ messages: [{ role: 'user', content: 'hi' }] })
})

test('an endless answer is cut at the cap: OUTPUT_TOO_LARGE, and the connection is closed', async () => {
  let closed: Promise<unknown> | undefined
  const upstream = await fake({
    'POST /api/generate': (_req, res) => {
      closed = once(res, 'close')
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(16 * 1024, 'x')
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      }
      res.on('drain', pump)
      pump()
    }
  })
  const run = createProcessor(upstream.url, { api: 'ollama', model: 'm' }).run(
    work({ input: 'x' }),
    limits({ maxOutputBytes: 1000 })
  )
  expect((await failure(run)).code).toBe('OUTPUT_TOO_LARGE')
  expect(closed).toBeDefined()
  await closed
})

test('an output over the cap inside a small answer is OUTPUT_TOO_LARGE too', async () => {
  const upstream = await fake({ 'POST /api/generate': json({ response: 'y'.repeat(1001) }) })
  const processor = createProcessor(upstream.url, { api: 'ollama', model: 'm' })
  expect((await failure(processor.run(work({ input: 'x' }), limits({ maxOutputBytes: 1000 })))).code).toBe(
    'OUTPUT_TOO_LARGE'
  )
})

test('an upstream that never answers is PROCESSOR_TIMEOUT, and its request is closed', async () => {
  let closed: Promise<unknown> | undefined
  const upstream = await fake({ 'POST /v1/chat/completions': (req) => void (closed = once(req.socket, 'close')) })
  const run = createProcessor(upstream.url, { api: 'openai' }).run(work({ input: 'x' }), limits({ timeoutMs: 300 }))
  expect((await failure(run)).code).toBe('PROCESSOR_TIMEOUT')
  expect(closed).toBeDefined()
  await closed
})

test('the abort signal stops a request in flight: ABORTED', async () => {
  const controller = new AbortController()
  const upstream = await fake({ 'POST /v1/chat/completions': () => controller.abort() })
  const run = createProcessor(upstream.url, { api: 'openai' }).run(
    work({ input: 'x' }),
    limits({ signal: controller.signal })
  )
  expect((await failure(run)).code).toBe('ABORTED')
})

test('an upstream error is UPSTREAM_ERROR with a bounded, control-stripped quote of its body', async () => {
  const body = '\u001b]0;owned\u0007\u001b[2J\r\u202eboom ' + 'z'.repeat(10_000)
  const upstream = await fake({ 'POST /api/generate': (_req, res) => res.writeHead(500).end(body) })
  const err = await failure(createProcessor(upstream.url, { api: 'ollama', model: 'm' }).run(work(), limits()))
  expect(err.code).toBe('UPSTREAM_ERROR')
  expect(err.message).toContain('HTTP 500')
  expect(err.message).toContain('boom')
  expect(err.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/)
  expect(err.message.length).toBeLessThan(600)
})

test('a redirect is not followed: UPSTREAM_ERROR, and the other host sees nothing', async () => {
  const elsewhere = await fake({ 'POST /api/generate': json({ response: 'stolen' }) })
  const upstream = await fake({
    'POST /api/generate': (_req, res) => res.writeHead(307, { location: `${elsewhere.url}/api/generate` }).end()
  })
  const err = await failure(createProcessor(upstream.url, { api: 'ollama', model: 'm' }).run(work(), limits()))
  expect(err.code).toBe('UPSTREAM_ERROR')
  expect(err.message).toContain('redirect')
  expect(elsewhere.seen).toEqual([])
})

test('an answer that is not the API shape is UPSTREAM_ERROR', async () => {
  const upstream = await fake({
    'POST /api/generate': json({ nothing: true }),
    'POST /sdapi/v1/txt2img': json({ images: [Buffer.from('not an image').toString('base64')] })
  })
  const ollama = await failure(createProcessor(upstream.url, { api: 'ollama', model: 'm' }).run(work(), limits()))
  expect(ollama.message).toContain('"response"')
  const a1111 = await failure(createProcessor(upstream.url, { api: 'a1111' }).run(work(picture), limits()))
  expect(a1111.code).toBe('UPSTREAM_ERROR')
  expect(a1111.message).toContain('not a PNG')
})

test('an upstream that is down is UPSTREAM_ERROR, and detection is tried again on the next job', async () => {
  const upstream = await fakeOllama()
  const port = (upstream.server.address() as AddressInfo).port
  upstream.server.closeAllConnections()
  await new Promise((resolve) => upstream.server.close(resolve))
  const processor = createProcessor(upstream.url, { model: 'llama3.2' })
  const err = await failure(processor.run(work({ kind: 5050 }), limits()))
  expect(err.code).toBe('UPSTREAM_ERROR')
  expect(err.message).toContain('ECONNREFUSED')
  // The same port comes back with Ollama on it: the next job detects it.
  const again = http.createServer((req, res) => {
    if (req.url === '/api/tags') return json({ models: [] })(req, res, '')
    if (req.url === '/api/generate') return json({ response: 'back' })(req, res, '')
    res.writeHead(404).end('{}')
  })
  again.listen(port, '127.0.0.1')
  await once(again, 'listening')
  open.push({ close: () => new Promise((resolve) => again.close(() => resolve())) })
  expect(text((await processor.run(work({ kind: 5050 }), limits())).data)).toBe('back')
})

test("one job's cancellation during detection does not fail another job waiting on it", async () => {
  const first = new AbortController()
  const upstream = await fake({
    // The first probe arrives while both jobs wait on the detection: cancel one, then answer.
    'GET /sdapi/v1/options': (_req, res) => {
      first.abort()
      res.writeHead(404).end('{}')
    },
    'GET /api/tags': json({ models: [] }),
    'POST /api/generate': json({ response: 'done' })
  })
  const processor = createProcessor(upstream.url, { model: 'm' })
  const cancelled = processor.run(work({ kind: 5050 }), limits({ signal: first.signal }))
  const other = processor.run(work({ kind: 5050 }), limits())
  expect((await failure(cancelled)).code).toBe('ABORTED')
  expect(text((await other).data)).toBe('done')
  expect(upstream.seen.filter((s) => s.url === '/sdapi/v1/options')).toHaveLength(1)
})
