// Shared by this package's tests: in-process relays and clients that are closed after each test,
// signing and mining helpers, and a raw WebSocket client for what nostr-tools hides.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay'
import { finalizeEvent, getPublicKey, type Event, type EventTemplate } from 'nostr-tools/pure'
import { minePow } from 'nostr-tools/nip13'
import type { Filter } from 'nostr-tools/filter'
import WebSocket from 'ws'
import Database from 'better-sqlite3'
import { startRelay, type RelayOptions, type RunningRelay } from '../src/index.js'

useWebSocketImplementation(WebSocket)

export const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

/** A relay closed after the test. */
export async function relay(opts: RelayOptions = {}): Promise<RunningRelay> {
  const running = await startRelay(opts)
  cleanups.push(() => running.close())
  return running
}

export async function connect(url: string): Promise<Relay> {
  const client = await Relay.connect(url)
  cleanups.push(() => client.close())
  return client
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'relay-test-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export const now = (): number => Math.floor(Date.now() / 1000)

/** The ids in a relay's database file, read directly (as an operator's sqlite3 would). */
export function storedIds(path: string): string[] {
  const db = new Database(path, { readonly: true })
  try {
    return db
      .prepare<[], { id: string }>('SELECT id FROM events')
      .all()
      .map((row) => row.id)
  } finally {
    db.close()
  }
}

// nostr-tools marks events it signed or verified with a symbol property; compare plain JSON values.
export const plain = (event: Event): Event => JSON.parse(JSON.stringify(event)) as Event

export function sign(sk: Uint8Array, template: Partial<EventTemplate> & { kind: number }): Event {
  return plain(finalizeEvent({ created_at: now(), tags: [], content: '', ...template }, sk))
}

/** Stored events matching `filters`, collected until EOSE. */
export function query(client: Relay, filters: Filter[]): Promise<Event[]> {
  return new Promise((resolve, reject) => {
    const events: Event[] = []
    const sub = client.subscribe(filters, {
      onevent: (event) => events.push(plain(event)),
      oneose: () => {
        resolve(events)
        sub.close()
      },
      onclose: (reason) => reject(new Error(`subscription closed: ${reason}`))
    })
  })
}

/** A raw ws client, for what nostr-tools hides: NOTICEs, close codes, unfiltered deliveries. */
export async function rawClient(
  url: string
): Promise<{ ws: WebSocket; next(): Promise<unknown[]>; closed: Promise<number> }> {
  const ws = new WebSocket(url)
  cleanups.push(() => ws.terminate())
  const queue: unknown[][] = []
  const waiters: Array<(message: unknown[]) => void> = []
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as unknown[]
    const waiter = waiters.shift()
    if (waiter) waiter(message)
    else queue.push(message)
  })
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return {
    ws,
    closed,
    next: () => {
      const queued = queue.shift()
      return queued ? Promise.resolve(queued) : new Promise((resolve) => waiters.push(resolve))
    }
  }
}

/** Signs `template` after mining `bits` of proof of work committed in its nonce tag (NIP-13). */
export function mined(sk: Uint8Array, template: Partial<EventTemplate> & { kind: number }, bits: number): Event {
  const pubkey = getPublicKey(sk)
  const unsigned = minePow({ created_at: now(), tags: [], content: '', ...template, pubkey }, bits)
  return sign(sk, {
    kind: unsigned.kind,
    created_at: unsigned.created_at,
    tags: unsigned.tags,
    content: unsigned.content
  })
}
