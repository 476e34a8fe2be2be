// Shared test helpers for @2020117/nostr: a cleanup stack (run it from afterEach), temp dirs under
// os.tmpdir(), an in-process relay on loopback, relay pools, and signed-event builders.

import { createHash, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { finalizeEvent, verifyEvent, type Event } from 'nostr-tools/pure'
// @2020117/relay is not a dependency of this package: import its sources directly.
import { startRelay } from '@2020117/relay'
import { NostrError, type NostrErrorCode } from '../src/errors.js'
import { RelayPool, type RelayPoolOptions } from '../src/pool.js'
import { PRESENCE_D_TAG } from '../src/presence.js'
import { committedPowBits, kinds as KIND, powBitsFor, type PowRule } from '@2020117/protocol'

const cleanups: Array<() => unknown> = []

export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn)
}

/** Runs the cleanups, newest first; use as `afterEach(runCleanups)`. */
export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()?.()
}

export async function tempDir(prefix = 'nostr-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  onCleanup(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A relay in memory that takes every kind without proof of work (the policy tests choose theirs);
 * `port` restarts one on the port of a relay that was closed.
 */
export async function relay(port = 0): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const running = await startRelay({ port, policy: { pow: [], acceptedKinds: null } })
  onCleanup(() => running.close())
  return running
}

export function pool(relays: string[], opts: RelayPoolOptions = {}): RelayPool {
  const p = new RelayPool(relays, opts)
  onCleanup(() => p.close())
  return p
}

export const now = (): number => Math.floor(Date.now() / 1000)

/** A deterministic secret key, so that event ids (which do not depend on the signature) are too. */
export function seededKey(seed: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(seed).digest())
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** A 2020117 heartbeat built by hand (not by Presence), so tests can choose every field. */
export function heartbeatEvent(
  sk: Uint8Array,
  opts: { content: unknown; kinds?: number[]; swarmKey?: string; createdAt?: number; status?: string; raw?: boolean }
): Event {
  const tags = [
    ['d', PRESENCE_D_TAG],
    ['status', opts.status ?? 'online'],
    ...(opts.kinds ?? [5200]).map((k) => ['k', String(k)])
  ]
  if (opts.swarmKey !== undefined) tags.push(['hyperswarm', opts.swarmKey])
  return finalizeEvent(
    {
      kind: KIND.Heartbeat,
      created_at: opts.createdAt ?? now(),
      tags,
      content: opts.raw ? (opts.content as string) : JSON.stringify(opts.content)
    },
    sk
  )
}

export function handlerEvent(
  sk: Uint8Array,
  opts: { content: unknown; kinds?: number[]; swarmKey?: string; createdAt?: number; raw?: boolean }
): Event {
  const tags = [['d', PRESENCE_D_TAG], ...(opts.kinds ?? [5200]).map((k) => ['k', String(k)])]
  if (opts.swarmKey !== undefined) tags.push(['hyperswarm', opts.swarmKey])
  return finalizeEvent(
    {
      kind: KIND.Handlerinformation,
      created_at: opts.createdAt ?? now(),
      tags,
      content: opts.raw ? (opts.content as string) : JSON.stringify(opts.content)
    },
    sk
  )
}

/** Publishes and insists that the relay stored it: a test built on a refused event proves nothing. */
export async function publishOk(p: RelayPool, event: Event): Promise<void> {
  expect(await p.publish(event)).toBe(1)
}

/** The NostrError a call throws (sync or async), checked for its code. */
export async function nostrError(fn: () => unknown, code: NostrErrorCode): Promise<NostrError> {
  let thrown: unknown
  try {
    await fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown, `expected NostrError ${code}`).toBeInstanceOf(NostrError)
  expect((thrown as NostrError).code).toBe(code)
  return thrown as NostrError
}

export interface FrontRelay {
  url: string
  /** EVENT messages received, in order. */
  events: Event[]
  /** Pubkeys that authenticated (NIP-42). */
  authed: string[]
}

/**
 * A relay with a policy, for the client's side of SPEC §12 (the real one is @2020117/relay's):
 * an HTTP and WebSocket front on its own port that serves `doc` as its NIP-11 document (`raw`: the
 * body as given), refuses events below `enforce`'s price with `pow:` (naming `says` bits, default
 * the price) and, with `auth`, sends a challenge and refuses writes (and with `auth: 'all'` reads)
 * until the author authenticated; `refuseAuth` answers every AUTH with OK false. Everything else
 * goes through to an in-memory relay behind it.
 */
export async function frontRelay(
  opts: {
    doc?: unknown
    raw?: string
    enforce?: PowRule[]
    says?: number
    auth?: 'writes' | 'all'
    refuseAuth?: boolean
  } = {}
): Promise<FrontRelay> {
  const backend = await relay()
  const front: FrontRelay = { url: '', events: [], authed: [] }
  const server = createServer((req, res) => {
    if (req.headers.accept !== 'application/nostr+json') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/nostr+json' }).end(opts.raw ?? JSON.stringify(opts.doc ?? {}))
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (client) => frontConnection(client, backend.url, front, opts))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  front.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
  onCleanup(async () => {
    for (const ws of wss.clients) ws.terminate()
    await new Promise((resolve) => server.close(resolve))
  })
  return front
}

function frontConnection(
  client: WebSocket,
  backendUrl: string,
  front: FrontRelay,
  opts: Parameters<typeof frontRelay>[0] & {}
): void {
  const upstream = new WebSocket(backendUrl)
  const opened = once(upstream, 'open')
  const challenge = randomUUID()
  let authedAs: string | null = null
  const reply = (msg: unknown[]) => client.send(JSON.stringify(msg))
  if (opts.auth) reply(['AUTH', challenge])
  client.on('message', async (data) => {
    const msg = JSON.parse(String(data)) as [string, ...unknown[]]
    if (msg[0] === 'AUTH') {
      const auth = msg[1] as Event
      const ok =
        !opts.refuseAuth && verifyEvent(auth) && auth.tags.some((t) => t[0] === 'challenge' && t[1] === challenge)
      if (ok) front.authed.push((authedAs = auth.pubkey))
      return reply(['OK', auth.id, ok, ok ? '' : 'restricted: not this time'])
    }
    if (msg[0] === 'EVENT') {
      const event = msg[1] as Event
      front.events.push(event)
      if (opts.auth && authedAs !== event.pubkey)
        return reply(['OK', event.id, false, 'auth-required: authenticate first'])
      const need = powBitsFor(opts.enforce ?? [], event.kind)
      const found = committedPowBits(event)
      if (found < need)
        return reply(['OK', event.id, false, `pow: kind ${event.kind} needs ${opts.says ?? need} bits, found ${found}`])
    }
    if (msg[0] === 'REQ' && opts.auth === 'all' && !authedAs)
      return reply(['CLOSED', msg[1], 'auth-required: who are you?'])
    await opened
    upstream.send(String(data))
  })
  upstream.on('message', (data) => client.readyState === WebSocket.OPEN && client.send(String(data)))
  upstream.on('error', () => client.terminate())
  client.on('close', () => upstream.terminate())
  client.on('error', () => upstream.terminate())
}
