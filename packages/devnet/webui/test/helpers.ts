// Client-side helpers for the WebUI tests: raw HTTP with socket control, Gradio WebSocket message
// queues and an SSE parser. Everything waits on events; nothing sleeps.

import { once } from 'node:events'
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import { WebSocket } from 'ws'

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  /** Whether the request went out on a kept-alive socket that had served an earlier request. */
  reused: boolean
}

/** One HTTP request; an array body is written chunk by chunk (chunked encoding, with backpressure). */
export async function request(
  url: string,
  opts: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer | Buffer[]; agent?: http.Agent } = {}
): Promise<Reply> {
  const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent })
  const response = once(req, 'response') as Promise<[http.IncomingMessage]>
  if (Array.isArray(opts.body)) {
    for (const chunk of opts.body) {
      if (!req.write(chunk)) await once(req, 'drain')
    }
    req.end()
  } else {
    req.end(opts.body)
  }
  const [res] = await response
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), reused: req.reusedSocket }
}

export function json(reply: Reply): any {
  return JSON.parse(reply.body.toString('utf8'))
}

/** Parsed messages of a WebSocket, in order; next() rejects once the socket has closed. */
export class MessageQueue {
  private readonly buffered: unknown[] = []
  private readonly waiters: Array<{ resolve: (msg: any) => void; reject: (err: Error) => void }> = []
  private closed = false
  readonly closedWith: Promise<[number, Buffer]>

  constructor(readonly ws: WebSocket) {
    this.closedWith = once(ws, 'close') as Promise<[number, Buffer]>
    ws.on('message', (data) => {
      const msg: unknown = JSON.parse(data.toString())
      const waiter = this.waiters.shift()
      if (waiter) waiter.resolve(msg)
      else this.buffered.push(msg)
    })
    ws.on('close', () => {
      this.closed = true
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('socket closed'))
    })
  }

  static async open(url: string): Promise<MessageQueue> {
    const ws = new WebSocket(url)
    const queue = new MessageQueue(ws)
    await once(ws, 'open')
    return queue
  }

  next(): Promise<any> {
    if (this.buffered.length > 0) return Promise.resolve(this.buffered.shift())
    if (this.closed) return Promise.reject(new Error('socket closed'))
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg))
  }
}

export interface SseEvent {
  event: string
  data: any
}

/** Server-sent events from a fetch body, yielded as each one completes. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data.push(line.slice(6))
      }
      yield { event, data: JSON.parse(data.join('\n')) }
    }
  }
}
