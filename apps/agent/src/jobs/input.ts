// A paid job's input, as the processor gets it: text. A `url` input is fetched (a public http(s)
// host only, unless on the local network; no redirects, since one could lead to a private host),
// an `event` input is read from our relays, and a `job` input (NIP-90 chaining) is the result of
// that job, waited for on our relays as long as the job may take.
//
// Invariant: whatever a stranger's input names is bounded: bytes read (MAX_FETCHED_INPUT_BYTES),
// time spent (the job timeout), and where it may lead (reach.ts).

import { jobResultKind, isJobRequestKind } from '@2020117/protocol'
import type { JobInput, JobRequest } from '@2020117/jobs'
import type { RelayPool } from '@2020117/nostr'
import type { Event } from 'nostr-tools/pure'
import type { Filter } from 'nostr-tools/filter'
import { JobFailure } from './errors.js'
import { reachable, type ReachPolicy } from './reach.js'
import type { InputType } from '../processors/index.js'

/** A fetched `url` input larger than this is refused (INPUT_TOO_LARGE). */
export const MAX_FETCHED_INPUT_BYTES = 1024 * 1024

export interface InputContext {
  pool: RelayPool
  reach: ReachPolicy
  signal: AbortSignal
  timeoutMs: number
}

/** All inputs resolved and joined by newlines; the type is the first input's. */
export async function resolveInput(
  request: JobRequest,
  ctx: InputContext
): Promise<{ input: string; inputType: InputType }> {
  const [first] = request.inputs
  if (!first) throw JobFailure.INPUT_INVALID('the request has no input (an ["i", data, type] tag)')
  // One deadline for all of them: eight inputs of one request do not get eight timeouts.
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)])
  const shared = { ...ctx, signal }
  const texts: string[] = []
  for (const input of request.inputs) {
    if (signal.aborted) throw JobFailure.INPUT_INVALID('the inputs could not all be read within the job timeout')
    texts.push(await resolveOne(input, shared))
  }
  return { input: texts.join('\n'), inputType: first.type }
}

function resolveOne(input: JobInput, ctx: InputContext): Promise<string> {
  switch (input.type) {
    case 'text':
      return Promise.resolve(input.data)
    case 'url':
      return fetchText(input.data, ctx)
    case 'event':
      return eventContent(input.data, ctx)
    case 'job':
      return jobOutput(input.data, ctx)
  }
}

async function fetchText(url: string, ctx: InputContext): Promise<string> {
  if (!reachable(url, ctx.reach, ['http:', 'https:']))
    throw JobFailure.INPUT_INVALID('a url input must be a public http(s) URL')
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)])
  let res: Response
  try {
    res = await fetch(url, { redirect: 'error', signal })
  } catch {
    throw JobFailure.INPUT_INVALID('the url input could not be fetched')
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel()
    throw JobFailure.INPUT_INVALID(`the url input answered HTTP ${res.status}`)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > MAX_FETCHED_INPUT_BYTES) {
      await res.body.cancel().catch(() => {})
      throw JobFailure.INPUT_TOO_LARGE(`the url input is over ${MAX_FETCHED_INPUT_BYTES} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

async function eventContent(id: string, ctx: InputContext): Promise<string> {
  const [event] = await ctx.pool.query({ ids: [id], limit: 1 }, Math.min(ctx.timeoutMs, 5000))
  if (!event || event.id !== id) throw JobFailure.INPUT_INVALID('the event input is not on our relays')
  return boundedInput(event.content, 'event')
}

/** Chaining: the named job's request tells its kind; its result is awaited until the timeout. */
async function jobOutput(id: string, ctx: InputContext): Promise<string> {
  const [request] = await ctx.pool.query({ ids: [id], limit: 1 }, Math.min(ctx.timeoutMs, 5000))
  if (!request || request.id !== id || !isJobRequestKind(request.kind))
    throw JobFailure.INPUT_INVALID('the job input names no job request on our relays')
  // A result counts when it answers that request's author and, if it named providers, is one of
  // theirs: anyone can sign a result, and the first one a stranger signs must not become our input.
  const providers = request.tags.filter((t) => t[0] === 'p').map((t) => t[1])
  const answers = (e: Event) =>
    e.tags.some((t) => t[0] === 'e' && t[1] === id) &&
    e.tags.some((t) => t[0] === 'p' && t[1] === request.pubkey) &&
    (providers.length === 0 || providers.includes(e.pubkey))
  const result = await firstEvent(ctx, { kinds: [jobResultKind(request.kind)], '#e': [id] }, answers)
  if (!result) throw JobFailure.INPUT_INVALID('the job input had no result within the job timeout')
  if (result.tags.some((t) => t[0] === 'encrypted')) throw JobFailure.INPUT_INVALID('the job input is encrypted')
  return boundedInput(result.content, 'job')
}

/** An event's content is anyone's (a relay's own limit is its only bound): bounded as a url input is. */
function boundedInput(content: string, type: 'event' | 'job'): string {
  if (Buffer.byteLength(content) > MAX_FETCHED_INPUT_BYTES)
    throw JobFailure.INPUT_TOO_LARGE(`the ${type} input is over ${MAX_FETCHED_INPUT_BYTES} bytes`)
  return content
}

function firstEvent(ctx: InputContext, filter: Filter, accept: (e: Event) => boolean): Promise<Event | null> {
  return new Promise((resolve) => {
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)])
    let settled = false
    const done = (event: Event | null) => {
      if (settled) return
      settled = true
      queueMicrotask(() => sub.close())
      signal.removeEventListener('abort', onabort)
      resolve(event)
    }
    const onabort = () => done(null)
    const sub = ctx.pool.subscribe(filter, (event) => {
      if (accept(event)) done(event)
    })
    signal.addEventListener('abort', onabort, { once: true })
    if (signal.aborted) onabort()
  })
}
