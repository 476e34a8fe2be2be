// @2020117/webui/testing: client probes that check a running demo WebUI through any transport.
//
// Every probe takes a base URL (http://host:port) and talks to it the way a real client would:
// plain HTTP/1.1, a Gradio 3 WebSocket with a browser's Origin header, an SSE stream. Run them
// against the WebUI directly, then against a tunnel URL in front of it: the same checks must pass.
//
//   probeTxt2img            POST /sdapi/v1/txt2img; the PNG must decode and equal renderImage()
//   probeWebSocketProgress  Gradio 3 queue on /queue/join, paced: every progress event must arrive
//                           while the server is still at exactly that step (nothing buffered)
//   probeSseProgress        the same over GET /sse/progress?...&paced=1
//   probeUpload             streamed POST /upload, checked by length and SHA-256
//   probeDownload           streamed GET /download, hashed as it arrives (never held in memory)
//   probeConcurrent         many concurrent requests over a bounded keep-alive pool, then again
//                           with a fresh connection per request
//
// No probe has a timeout or sleeps: each waits on events only, so the caller's test timeout bounds
// it. A transport that buffers a paced stream therefore shows up as a probe that never finishes;
// pass `signal` to stop it early, and the error says what the probe was still waiting for.
// Failures throw ProbeError, whose message says what was expected and what arrived instead.

import { createHash } from 'node:crypto'
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import pngjs from 'pngjs'
import { WebSocket, type RawData } from 'ws'
import { downloadSha256 } from './bytes.js'
import { renderImage } from './image.js'

/** What every probe accepts besides its own parameters. */
export interface ProbeOptions {
  /** Aborting stops the probe: it closes its connections and rejects, naming what it awaited. */
  signal?: AbortSignal
}

export interface Txt2imgProbe extends ProbeOptions {
  prompt: string
  seed: number
  width: number
  height: number
  /** Sampling steps to ask for; default 1 (the image does not depend on it). */
  steps?: number
}

export interface Txt2imgResult {
  png: Buffer
  width: number
  height: number
}

export interface ProgressProbe extends ProbeOptions {
  /** Number of sampling steps, so of progress events (1..150). */
  steps: number
  prompt?: string
  seed?: number
  width?: number
  height?: number
}

export interface TransferResult {
  bytes: number
  sha256: string
}

export interface UploadProbe extends ProbeOptions {
  /** Size of each written chunk; default 64 KiB. The body goes out chunked, with backpressure. */
  chunkBytes?: number
}

export interface ConcurrentProbe extends ProbeOptions {
  /** Socket limit of the keep-alive pool used by the first batch; default 16. */
  maxSockets?: number
}

export interface ConcurrentResult {
  /** Requests answered correctly, over both batches (at most 2 * count). */
  ok: number
  failed: number
  /**
   * Distinct connections each batch used (successful requests only): at most maxSockets for the
   * keep-alive batch unless something closes kept-alive connections, one per request for fresh.
   */
  connections: { keepAlive: number; fresh: number }
  /** The first few failures, one line each. */
  errors: string[]
}

/** A probe's failure: `expected` and `got` are also in the message. */
export class ProbeError extends Error {
  constructor(
    readonly probe: string,
    readonly what: string,
    readonly expected: unknown,
    readonly got: unknown
  ) {
    super(`${probe}: ${what}: expected ${show(expected)}, got ${show(got)}`)
    this.name = 'ProbeError'
  }
}

const PNG_DATA_URL = 'data:image/png;base64,'
/** The connection each response arrived on. */
const connectionOf = new WeakMap<IncomingMessage, Socket | null>()
const MAX_REPORTED_ERRORS = 10

// ---------------------------------------------------------------------------------------------
// txt2img

export async function probeTxt2img(base: string, opts: Txt2imgProbe): Promise<Txt2imgResult> {
  const probe = new Probe('probeTxt2img', base, opts.signal)
  return probe.run(async () => {
    const { prompt, seed, width, height } = opts
    const body = { prompt, seed, steps: opts.steps ?? 1, width, height }
    probe.waiting = 'the txt2img response'
    const reply = await probe.request('/sdapi/v1/txt2img', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: probe.origin },
      body: Buffer.from(JSON.stringify(body))
    })
    const json = probe.expectJson(reply, 200, 'POST /sdapi/v1/txt2img') as { images?: unknown; info?: unknown }
    const images = json.images
    if (!Array.isArray(images) || images.length !== 1 || typeof images[0] !== 'string') {
      throw probe.fail('images', 'an array of one base64 string', images)
    }
    const png = Buffer.from(images[0], 'base64')
    probe.checkImage(png, { prompt, seed, width, height })
    let infoSeed: unknown
    try {
      infoSeed = (JSON.parse(String(json.info)) as { seed?: unknown }).seed
    } catch {
      infoSeed = json.info
    }
    if (infoSeed !== seed) throw probe.fail('seed in info', seed, infoSeed)
    return { png, width, height }
  })
}

// ---------------------------------------------------------------------------------------------
// Gradio 3 WebSocket progress

/**
 * Runs one paced job over the Gradio 3 queue. After each progress event but the last it checks on
 * GET /sdapi/v1/progress that the server is at exactly that step, then advances the job. Resolves
 * with the steps seen ([1..steps]). /sdapi/v1/progress reports the oldest running job, so run the
 * progress probes while no other job is running on the server.
 */
export async function probeWebSocketProgress(base: string, opts: ProgressProbe): Promise<number[]> {
  const probe = new Probe('probeWebSocketProgress', base, opts.signal)
  return probe.run(async () => {
    const job = jobParams(opts, 'websocket probe')
    const url = new URL('queue/join', probe.baseUrl)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    probe.waiting = `the WebSocket handshake on ${url.href}`
    const inbox = await probe.openSocket(url.href)

    const first = await inbox.next('the send_hash message')
    if (first.msg !== 'send_hash') throw probe.fail('first message', { msg: 'send_hash' }, first)
    const session = `probe-${Date.now().toString(36)}`
    inbox.send({ fn_index: 0, session_hash: session })
    const estimation = await inbox.next('the estimation message')
    if (estimation.msg !== 'estimation')
      throw probe.fail('message after the session hash', { msg: 'estimation' }, estimation)
    const sendData = await inbox.next('the send_data message')
    if (sendData.msg !== 'send_data') throw probe.fail('message after estimation', { msg: 'send_data' }, sendData)
    inbox.send({
      data: [job.prompt, job.seed, job.steps, job.width, job.height],
      fn_index: 0,
      session_hash: session,
      paced: true
    })

    const starts = await inbox.next('the process_starts message')
    const jobId = starts.job_id
    if (starts.msg !== 'process_starts' || typeof jobId !== 'string') {
      throw probe.fail('message after send_data', { msg: 'process_starts', job_id: '<string>' }, starts)
    }

    const seen: number[] = []
    for (let step = 1; step <= job.steps; step++) {
      const msg = await inbox.next(`progress step ${step} of ${job.steps}`)
      const data = Array.isArray(msg.progress_data)
        ? (msg.progress_data[0] as Record<string, unknown> | undefined)
        : undefined
      if (msg.msg !== 'progress' || data?.index !== step || data.length !== job.steps) {
        throw probe.fail(
          `progress event ${step}`,
          { msg: 'progress', progress_data: [{ index: step, length: job.steps }] },
          msg
        )
      }
      seen.push(step)
      if (step < job.steps) await probe.checkAndAdvance(jobId, step, job.steps)
    }

    const done = await inbox.next('the process_completed message')
    const output = done.output as { data?: unknown[] } | undefined
    if (done.msg !== 'process_completed' || done.success !== true || !Array.isArray(output?.data)) {
      throw probe.fail('message after the last step', { msg: 'process_completed', success: true }, done)
    }
    probe.checkImage(dataUrlPng(probe, output.data[0]), job)
    const code = await inbox.closed('the server to close the socket')
    if (code !== 1000) throw probe.fail('close code after process_completed', 1000, code)
    return seen
  })
}

// ---------------------------------------------------------------------------------------------
// SSE progress

/** The SSE twin of probeWebSocketProgress (same checks, same caveat about concurrent jobs). */
export async function probeSseProgress(base: string, opts: ProgressProbe): Promise<number[]> {
  const probe = new Probe('probeSseProgress', base, opts.signal)
  return probe.run(async () => {
    const job = jobParams(opts, 'sse probe')
    const events = await openSseProgress(probe, job)
    const next = async (what: string): Promise<{ event: string; data: Record<string, unknown> }> => {
      probe.waiting = `SSE ${what}`
      const { value, done } = await events.next()
      if (done) throw probe.fail(`SSE stream while waiting for ${what}`, what, 'the end of the stream')
      if (value.event === 'error') throw probe.fail('SSE event', what, `an error event ${JSON.stringify(value.data)}`)
      return value
    }

    const start = await next('event start')
    const jobId = start.data.job_id
    if (start.event !== 'start' || typeof jobId !== 'string' || start.data.paced !== true) {
      throw probe.fail('first SSE event', { event: 'start', job_id: '<string>', paced: true }, start)
    }
    const seen: number[] = []
    for (let step = 1; step <= job.steps; step++) {
      const ev = await next(`progress step ${step} of ${job.steps}`)
      if (ev.event !== 'progress' || ev.data.step !== step || ev.data.total !== job.steps || ev.data.job_id !== jobId) {
        throw probe.fail(`SSE progress event ${step}`, { event: 'progress', step, total: job.steps, job_id: jobId }, ev)
      }
      seen.push(step)
      if (step < job.steps) await probe.checkAndAdvance(jobId, step, job.steps)
    }
    const complete = await next('event complete')
    if (complete.event !== 'complete' || complete.data.job_id !== jobId) {
      throw probe.fail(
        'SSE event after the last step',
        { event: 'complete', job_id: jobId },
        { event: complete.event, job_id: complete.data.job_id }
      )
    }
    probe.checkImage(dataUrlPng(probe, complete.data.image), job)
    probe.waiting = 'the end of the SSE stream'
    const after = await events.next()
    if (!after.done) throw probe.fail('SSE stream after complete', 'its end', `event ${after.value.event}`)
    return seen
  })
}

/** GET /sse/progress for `job`, paced, checked to answer 200 with an event stream: its events. */
async function openSseProgress(
  probe: Probe,
  job: ReturnType<typeof jobParams>
): Promise<AsyncGenerator<{ event: string; data: Record<string, unknown> }>> {
  const query = new URLSearchParams({
    prompt: job.prompt,
    seed: String(job.seed),
    steps: String(job.steps),
    width: String(job.width),
    height: String(job.height),
    paced: '1'
  })
  probe.waiting = 'the SSE response headers'
  const res = await probe.open(`/sse/progress?${query}`, {
    headers: { accept: 'text/event-stream', origin: probe.origin }
  })
  if (res.statusCode !== 200) {
    const body = await probe.readAll(res, 'GET /sse/progress')
    throw probe.fail('GET /sse/progress status', 200, `${res.statusCode} ${snippet(body)}`)
  }
  const type = res.headers['content-type'] ?? ''
  if (!type.startsWith('text/event-stream'))
    throw probe.fail('GET /sse/progress content-type', 'text/event-stream', type)
  return sseEvents(res)
}

// ---------------------------------------------------------------------------------------------
// Bulk transfer

/** Streams `bytes` to POST /upload (chunked, honouring backpressure) and checks the server's hash. */
export async function probeUpload(base: string, bytes: Buffer, opts: UploadProbe = {}): Promise<TransferResult> {
  const probe = new Probe('probeUpload', base, opts.signal)
  return probe.run(async () => {
    const chunkBytes = opts.chunkBytes ?? 64 * 1024
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1)
      throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`)
    const expected: TransferResult = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
    const chunks = function* (): Generator<Buffer> {
      for (let at = 0; at < bytes.length; at += chunkBytes) yield bytes.subarray(at, at + chunkBytes)
    }
    probe.waiting = `the upload response (after ${bytes.length} bytes)`
    const reply = await probe.request('/upload', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', origin: probe.origin },
      body: chunks()
    })
    const got = probe.expectJson(reply, 200, 'POST /upload') as Partial<TransferResult>
    if (got.bytes !== expected.bytes) throw probe.fail('bytes received by the server', expected.bytes, got.bytes)
    if (got.sha256 !== expected.sha256) throw probe.fail('sha256 computed by the server', expected.sha256, got.sha256)
    return expected
  })
}

/** Streams GET /download?bytes=n&seed=seed, hashing as it arrives, against downloadSha256(n, seed). */
export async function probeDownload(
  base: string,
  n: number,
  seed = 0,
  opts: ProbeOptions = {}
): Promise<TransferResult> {
  const probe = new Probe('probeDownload', base, opts.signal)
  return probe.run(async () => {
    const expected = downloadSha256(n, seed)
    probe.waiting = 'the download response headers'
    const res = await probe.open(`/download?bytes=${n}&seed=${seed}`)
    if (res.statusCode !== 200) {
      const body = await probe.readAll(res, 'GET /download')
      throw probe.fail('GET /download status', 200, `${res.statusCode} ${snippet(body)}`)
    }
    const length = res.headers['content-length']
    if (length !== String(n)) throw probe.fail('GET /download content-length', String(n), length)
    const hash = createHash('sha256')
    let received = 0
    probe.waiting = `the download body (${n} bytes)`
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        hash.update(chunk)
        received += chunk.length
      }
    } catch (err) {
      throw probe.fail('download body', `${n} bytes`, `${received} bytes, then ${errorText(err)}`)
    }
    const sha256 = hash.digest('hex')
    if (received !== n) throw probe.fail('download length', n, received)
    if (sha256 !== expected) throw probe.fail(`sha256 of the ${n}-byte download (seed ${seed})`, expected, sha256)
    return { bytes: received, sha256 }
  })
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/**
 * Fires `count` concurrent requests (even: GET /, odd: a small txt2img) over a keep-alive pool of
 * at most `maxSockets` connections, then `count` more with a fresh connection each. Failures are
 * counted, not thrown: `ok + failed === 2 * count`.
 */
export async function probeConcurrent(
  base: string,
  count: number,
  opts: ConcurrentProbe = {}
): Promise<ConcurrentResult> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`)
  const maxSockets = opts.maxSockets ?? 16
  const probe = new Probe('probeConcurrent', base, opts.signal)
  const result: ConcurrentResult = { ok: 0, failed: 0, connections: { keepAlive: 0, fresh: 0 }, errors: [] }
  const pool = new (probe.secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets })
  probe.own(() => pool.destroy())
  return probe.run(async () => {
    const batch = async (name: 'keepAlive' | 'fresh', agent: http.Agent | false, first: number): Promise<void> => {
      const sockets = new Set<Socket>()
      const one = async (i: number): Promise<void> => {
        try {
          const reply = await concurrentRequest(probe, i, agent)
          if (reply.socket) sockets.add(reply.socket)
          result.ok++
        } catch (err) {
          result.failed++
          if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push(`${name} #${i}: ${errorText(err)}`)
        }
      }
      probe.waiting = `${count} ${name === 'fresh' ? 'fresh-connection' : 'keep-alive'} requests`
      await Promise.all(Array.from({ length: count }, (_, i) => one(first + i)))
      result.connections[name] = sockets.size
    }
    await batch('keepAlive', pool, 0)
    await batch('fresh', false, count)
    return result
  })
}

/** One request of probeConcurrent. */
async function concurrentRequest(probe: Probe, i: number, agent: http.Agent | false): Promise<Reply> {
  if (i % 2 === 0) {
    const reply = await probe.request('/', { agent })
    if (reply.status !== 200) throw probe.fail('GET / status', 200, `${reply.status} ${snippet(reply.body)}`)
    const html = reply.body.toString('utf8')
    if (!html.includes('<title>')) throw probe.fail('GET / body', 'an HTML page with a <title>', snippet(reply.body))
    return reply
  }
  const params = { prompt: `concurrent ${i}`, seed: i, width: 64, height: 64 }
  const reply = await probe.request('/sdapi/v1/txt2img', {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', origin: probe.origin },
    body: Buffer.from(JSON.stringify({ ...params, steps: 1 }))
  })
  const json = probe.expectJson(reply, 200, 'POST /sdapi/v1/txt2img') as { images?: unknown[] }
  const image = json.images?.[0]
  if (typeof image !== 'string') throw probe.fail('images[0]', 'a base64 PNG', image)
  probe.checkImage(Buffer.from(image, 'base64'), params)
  return reply
}

// ---------------------------------------------------------------------------------------------
// Plumbing

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** The connection the request went out on. */
  socket: Socket | null
}

interface RequestOptions {
  method?: string
  headers?: OutgoingHttpHeaders
  body?: Buffer | Iterable<Buffer>
  /** Default: the probe's own keep-alive agent. */
  agent?: http.Agent | false
}

/** One probe run: its base URL, its connections (closed on dispose or abort), its error texts. */
class Probe {
  readonly baseUrl: URL
  readonly origin: string
  readonly secure: boolean
  /** What the probe awaits right now, for the abort message. */
  waiting = 'the start'
  private readonly resources = new Set<(err: Error) => void>()
  private readonly agent: http.Agent
  /** Set once `signal` aborts: what every failure after that point is reported as. */
  abortError: Error | null = null
  private readonly onAbort = (): void => {
    const err = new Error(`${this.name}: aborted while waiting for ${this.waiting}`)
    this.abortError = err
    for (const destroy of [...this.resources]) destroy(err)
  }

  constructor(
    readonly name: string,
    base: string,
    readonly signal: AbortSignal | undefined
  ) {
    const url = new URL(base)
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`${name}: base must be an http(s) URL, got ${base}`)
    if (!url.pathname.endsWith('/')) url.pathname += '/'
    url.search = ''
    url.hash = ''
    this.baseUrl = url
    this.origin = url.origin
    this.secure = url.protocol === 'https:'
    this.agent = new (this.secure ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 4 })
    this.own(() => this.agent.destroy())
    signal?.throwIfAborted()
    signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** Registers something to destroy on abort or dispose; returns its unregister function. */
  own(destroy: (err: Error) => void): () => void {
    this.resources.add(destroy)
    return () => this.resources.delete(destroy)
  }

  /** Runs the probe's body, then closes whatever it left open. */
  async run<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body()
    } catch (err) {
      // Once aborted, whatever broke (a reset socket, a half-read body) broke because of the abort.
      throw this.abortError ?? err
    } finally {
      this.dispose()
    }
  }

  dispose(): void {
    this.signal?.removeEventListener('abort', this.onAbort)
    const err = new Error(`${this.name}: finished`)
    for (const destroy of [...this.resources]) destroy(err)
    this.resources.clear()
  }

  fail(what: string, expected: unknown, got: unknown): ProbeError {
    return new ProbeError(this.name, what, expected, got)
  }

  url(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.baseUrl)
  }

  /** Sends a request and resolves with the response head; the body is left to the caller. */
  async open(path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const url = this.url(path)
    const { request } = this.secure ? https : http
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? this.agent })
    let release = this.own((err) => req.destroy(err))
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve)
      req.on('error', (err) => reject(this.fail(`${req.method} ${url.pathname}`, 'a response', errorText(err))))
    })
    // Mark the response as handled so an early failure does not surface as an unhandled rejection.
    response.catch(() => undefined)
    try {
      await writeBody(req, opts.body, response)
      const res = await response
      release()
      // Whoever reads the body sees its errors; this only keeps an unread one from crashing node.
      res.on('error', () => undefined)
      if (!res.complete) {
        release = this.own((err) => res.destroy(this.abortError ?? undefined))
        res.once('end', release)
        res.once('close', release)
      }
      connectionOf.set(res, req.socket)
      return res
    } catch (err) {
      release()
      req.destroy()
      throw err
    }
  }

  /** A request with its whole (small) body. */
  async request(path: string, opts: RequestOptions = {}): Promise<Reply> {
    const res = await this.open(path, opts)
    const body = await this.readAll(res, `${opts.method ?? 'GET'} ${path}`)
    return { status: res.statusCode ?? 0, headers: res.headers, body, socket: connectionOf.get(res) ?? null }
  }

  async readAll(res: IncomingMessage, what: string): Promise<Buffer> {
    const chunks: Buffer[] = []
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk)
    } catch (err) {
      throw this.fail(`body of ${what}`, 'a complete body', errorText(err))
    }
    return Buffer.concat(chunks)
  }

  expectJson(reply: Reply, status: number, what: string): Record<string, unknown> {
    if (reply.status !== status) throw this.fail(`${what} status`, status, `${reply.status} ${snippet(reply.body)}`)
    const type = String(reply.headers['content-type'] ?? '')
    if (!type.startsWith('application/json')) throw this.fail(`${what} content-type`, 'application/json', type)
    try {
      const value: unknown = JSON.parse(reply.body.toString('utf8'))
      if (typeof value !== 'object' || value === null) throw new Error('not an object')
      return value as Record<string, unknown>
    } catch {
      throw this.fail(`${what} body`, 'a JSON object', snippet(reply.body))
    }
  }

  /** The PNG must decode at the requested size and be byte-identical to renderImage(). */
  checkImage(png: Buffer, params: { prompt: string; seed: number; width: number; height: number }): void {
    let decoded: { width: number; height: number }
    try {
      decoded = pngjs.PNG.sync.read(png)
    } catch (err) {
      throw this.fail('image', 'a PNG that decodes', `${png.length} bytes that do not (${errorText(err)})`)
    }
    if (decoded.width !== params.width || decoded.height !== params.height) {
      throw this.fail('image size', `${params.width}x${params.height}`, `${decoded.width}x${decoded.height}`)
    }
    const expected = renderImage(params)
    if (!png.equals(expected)) {
      const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 16)
      throw this.fail(
        `image for prompt ${JSON.stringify(params.prompt)} seed ${params.seed}`,
        `renderImage() output (${expected.length} bytes, sha256 ${sha(expected)}…)`,
        `${png.length} bytes, sha256 ${sha(png)}…`
      )
    }
  }

  /**
   * The paced job holds before its next step until advanced, so when the event for `step` has
   * arrived the server must still be at exactly `step`: a later step means the event was held up.
   */
  async checkAndAdvance(jobId: string, step: number, total: number): Promise<void> {
    this.waiting = `GET /sdapi/v1/progress at step ${step}`
    const progress = this.expectJson(await this.request('/sdapi/v1/progress'), 200, 'GET /sdapi/v1/progress')
    const state = (progress.state ?? {}) as Record<string, unknown>
    const got = { job: state.job, sampling_step: state.sampling_step, sampling_steps: state.sampling_steps }
    const want = { job: `task(${jobId})`, sampling_step: step, sampling_steps: total }
    if (got.job !== want.job || got.sampling_step !== step || got.sampling_steps !== total) {
      throw this.fail(`server progress when event ${step} of ${total} arrived`, want, got)
    }
    this.waiting = `POST /jobs/advance after step ${step}`
    const advanced = this.expectJson(
      await this.request(`/jobs/advance?id=${encodeURIComponent(jobId)}`, {
        method: 'POST',
        headers: { origin: this.origin }
      }),
      200,
      'POST /jobs/advance'
    )
    if (advanced.job_id !== jobId || advanced.step !== step) {
      throw this.fail(
        'POST /jobs/advance reply',
        { job_id: jobId, step },
        { job_id: advanced.job_id, step: advanced.step }
      )
    }
  }

  /** Opens a WebSocket with the Origin a browser on the base URL would send. */
  async openSocket(url: string): Promise<Inbox> {
    const ws = new WebSocket(url, { origin: this.origin })
    const inbox = new Inbox(this, ws)
    this.own((err) => inbox.destroy(err))
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        res.resume()
        reject(
          this.fail(
            `WebSocket handshake on ${url}`,
            '101 Switching Protocols',
            `${res.statusCode} ${res.statusMessage ?? ''}`.trim()
          )
        )
        ws.terminate()
      })
      inbox.onEnd = reject
    })
    inbox.onEnd = null
    return inbox
  }
}

/** The JSON messages of one WebSocket, in order. */
class Inbox {
  onEnd: ((err: Error) => void) | null = null
  private readonly buffered: Array<Record<string, unknown> | Error> = []
  private waiter: { resolve: (msg: Record<string, unknown>) => void; reject: (err: Error) => void } | null = null
  private ended: Error | null = null
  private destroyedWith: Error | null = null
  private readonly closeCode: Promise<number>

  constructor(
    private readonly probe: Probe,
    private readonly ws: WebSocket
  ) {
    this.closeCode = new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code)))
    ws.on('message', (data: RawData, isBinary: boolean) => {
      let item: Record<string, unknown> | Error
      const text = (
        Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      ).toString('utf8')
      if (isBinary) item = probe.fail('WebSocket frame type', 'text', `a binary frame: ${snippet(Buffer.from(text))}`)
      else {
        try {
          const value: unknown = JSON.parse(text)
          item =
            typeof value === 'object' && value !== null
              ? (value as Record<string, unknown>)
              : probe.fail('WebSocket message', 'a JSON object', text)
        } catch {
          item = probe.fail('WebSocket message', 'JSON', snippet(Buffer.from(text)))
        }
      }
      this.deliver(item)
    })
    ws.on('error', (err: Error) => this.end(probe.fail('WebSocket', 'no error', errorText(err))))
    ws.on('close', (code: number, reason: Buffer) =>
      this.end(new Error(`socket closed with ${code}${reason.length ? ` ${reason.toString()}` : ''}`))
    )
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg))
  }

  next(what: string): Promise<Record<string, unknown>> {
    this.probe.waiting = `WebSocket ${what}`
    const item = this.buffered.shift()
    if (item instanceof Error) return Promise.reject(item)
    if (item) return Promise.resolve(item)
    if (this.ended)
      return Promise.reject(this.probe.fail(`WebSocket while waiting for ${what}`, what, this.ended.message))
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject }
    })
  }

  async closed(what: string): Promise<number> {
    this.probe.waiting = what
    const extra = this.buffered.shift()
    if (extra)
      throw this.probe.fail(
        'WebSocket after process_completed',
        'the socket to close',
        extra instanceof Error ? extra.message : extra
      )
    const code = await this.closeCode
    if (this.destroyedWith) throw this.destroyedWith
    return code
  }

  destroy(err: Error): void {
    this.destroyedWith ??= err
    this.end(err)
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate()
  }

  private deliver(item: Record<string, unknown> | Error): void {
    const waiter = this.waiter
    this.waiter = null
    if (!waiter) this.buffered.push(item)
    else if (item instanceof Error) waiter.reject(item)
    else waiter.resolve(item)
  }

  private end(err: Error): void {
    if (this.ended) return
    this.ended = err
    this.onEnd?.(err)
    const waiter = this.waiter
    this.waiter = null
    waiter?.reject(this.probe.fail(`WebSocket while waiting for ${this.probe.waiting}`, 'a message', err.message))
  }
}

/** Writes `body` (one buffer, or chunks with backpressure), stopping if the response comes first. */
async function writeBody(
  req: http.ClientRequest,
  body: Buffer | Iterable<Buffer> | undefined,
  response: Promise<unknown>
): Promise<void> {
  if (body === undefined || Buffer.isBuffer(body)) {
    req.end(body)
    return
  }
  let answered = false
  void response.then(
    () => (answered = true),
    () => (answered = true)
  )
  for (const chunk of body) {
    if (answered || req.destroyed) return
    if (!req.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          req.off('drain', done)
          req.off('close', done)
          req.off('response', done)
          resolve()
        }
        req.on('drain', done)
        req.on('close', done)
        req.on('response', done)
      })
    }
  }
  if (!req.destroyed) req.end()
}

/** Server-sent events of a response, each yielded once its terminating blank line arrives. */
async function* sseEvents(res: IncomingMessage): AsyncGenerator<{ event: string; data: Record<string, unknown> }> {
  res.setEncoding('utf8')
  let buffer = ''
  let event = 'message'
  let data: string[] = []
  for await (const chunk of res as AsyncIterable<string>) {
    buffer += chunk
    for (let eol = buffer.search(/\r\n|\r|\n/); eol >= 0; eol = buffer.search(/\r\n|\r|\n/)) {
      // A lone \r at the end of a chunk may be the first half of \r\n: wait for more.
      if (buffer[eol] === '\r' && eol === buffer.length - 1) break
      const line = buffer.slice(0, eol)
      buffer = buffer.slice(eol + (buffer.startsWith('\r\n', eol) ? 2 : 1))
      if (line === '') {
        if (data.length > 0) {
          const text = data.join('\n')
          let parsed: unknown
          try {
            parsed = JSON.parse(text)
          } catch {
            throw new ProbeError('probeSseProgress', `data of SSE event ${event}`, 'JSON', text.slice(0, 200))
          }
          yield { event, data: (parsed ?? {}) as Record<string, unknown> }
        }
        event = 'message'
        data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') event = value
      else if (field === 'data') data.push(value)
    }
  }
}

function jobParams(
  opts: ProgressProbe,
  defaultPrompt: string
): { prompt: string; seed: number; steps: number; width: number; height: number } {
  if (!Number.isInteger(opts.steps) || opts.steps < 1)
    throw new RangeError(`steps must be a positive integer, got ${opts.steps}`)
  return {
    prompt: opts.prompt ?? defaultPrompt,
    seed: opts.seed ?? 20117,
    steps: opts.steps,
    width: opts.width ?? 64,
    height: opts.height ?? 64
  }
}

function dataUrlPng(probe: Probe, value: unknown): Buffer {
  if (typeof value !== 'string' || !value.startsWith(PNG_DATA_URL)) {
    throw probe.fail('image', `a ${PNG_DATA_URL}… URL`, typeof value === 'string' ? value.slice(0, 40) : value)
  }
  return Buffer.from(value.slice(PNG_DATA_URL.length), 'base64')
}

function snippet(body: Buffer): string {
  const text = body.subarray(0, 200).toString('utf8')
  return body.length > 200 ? `${text}… (${body.length} bytes)` : text
}

function errorText(err: unknown): string {
  if (err instanceof ProbeError) return err.message
  const e = err as { code?: unknown; message?: unknown }
  const message = typeof e?.message === 'string' ? e.message : String(err)
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message
}

function show(value: unknown): string {
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`
  if (typeof value === 'string')
    return value.length > 300 ? `${JSON.stringify(value.slice(0, 300))}…` : JSON.stringify(value)
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}
