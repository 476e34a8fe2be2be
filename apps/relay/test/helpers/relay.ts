// The real 2020117-relay bin, spawned on a temp database, and a raw NIP-01 client for it: raw `ws`
// so that a test sees each OK's exact message and each AUTH challenge, which a pool would hide.
// Everything waits on messages and lines, never on time.

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onTestFinished } from 'vitest'
import { spawnBin, type Proc } from '@2020117/testkit'
import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey, type Event } from 'nostr-tools/pure'
import { getPow, minePow } from 'nostr-tools/nip13'
import { makeAuthEvent } from 'nostr-tools/nip42'
import { WebSocket } from 'ws'

export interface Bin {
  proc: Proc
  url: string
  db: string
  ready: Record<string, any>
}

/** A fresh database path in a temp dir of its own. */
export function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), '2020117-relayd-')), 'relay.sqlite')
}

/** Starts the bin (--port=0 --json) and waits for its ready line; SIGKILLed when the test ends if still up. */
export async function startBin(args: string[] = [], db = tempDb()): Promise<Bin> {
  const proc = spawnBin('relay', [`--db=${db}`, '--port=0', '--json', ...args])
  onTestFinished(() => {
    proc.kill('SIGKILL')
    return proc.exited.then(() => {})
  })
  const ready = await proc.json((e) => e.event === 'ready', { timeoutMs: 20_000 })
  return { proc, url: ready.url as string, db, ready }
}

type Message = [string, ...unknown[]]

export class Client {
  readonly messages: Message[] = []
  private waiters: Array<() => void> = []
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as Message)
      for (const wake of this.waiters.splice(0)) wake()
    })
    ws.on('close', () => {
      for (const wake of this.waiters.splice(0)) wake()
    })
  }

  static async open(url: string): Promise<Client> {
    const ws = new WebSocket(url)
    const client = new Client(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    onTestFinished(() => ws.close())
    return client
  }

  /** The first message (already received or to come) that `test` accepts. */
  async next(test: (m: Message) => boolean, what: string): Promise<Message> {
    for (;;) {
      const found = this.messages.find(test)
      if (found) return found
      if (this.ws.readyState !== WebSocket.OPEN) throw new Error(`the relay closed the connection before ${what}`)
      await new Promise<void>((wake) => this.waiters.push(wake))
    }
  }

  async publish(event: Event): Promise<{ ok: boolean; message: string }> {
    const seen = this.messages.length
    this.ws.send(JSON.stringify(['EVENT', event]))
    const ok = await this.next(
      (m) => this.messages.indexOf(m) >= seen && m[0] === 'OK' && m[1] === event.id,
      `the OK of ${event.id}`
    )
    return { ok: ok[2] as boolean, message: ok[3] as string }
  }

  private subs = 0
  /** The events a REQ returns up to its EOSE; the subscription is closed after. */
  async query(filter: Record<string, unknown>): Promise<Event[]> {
    const id = `q${++this.subs}`
    this.ws.send(JSON.stringify(['REQ', id, filter]))
    const end = await this.next((m) => (m[0] === 'EOSE' || m[0] === 'CLOSED') && m[1] === id, `the EOSE of ${id}`)
    this.ws.send(JSON.stringify(['CLOSE', id]))
    if (end[0] === 'CLOSED') throw new Error(`the relay closed ${id}: ${String(end[2])}`)
    return this.messages.filter((m) => m[0] === 'EVENT' && m[1] === id).map((m) => m[2] as Event)
  }

  /** NIP-42: answers the relay's challenge for `url` as `sk`; resolves with the relay's OK. */
  async auth(url: string, sk: Uint8Array): Promise<{ ok: boolean; message: string }> {
    const challenge = await this.next((m) => m[0] === 'AUTH' && typeof m[1] === 'string', 'an AUTH challenge')
    const event = finalizeEvent(makeAuthEvent(url, challenge[1] as string), sk)
    const seen = this.messages.length
    this.ws.send(JSON.stringify(['AUTH', event]))
    const ok = await this.next(
      (m) => this.messages.indexOf(m) >= seen && m[0] === 'OK' && m[1] === event.id,
      'the OK of the AUTH event'
    )
    return { ok: ok[2] as boolean, message: ok[3] as string }
  }
}

export interface Author {
  sk: Uint8Array
  pubkey: string
  /** Signs an event; `pow` mines it first with nostr-tools' minePow (a committed target; created_at then is now). */
  sign(kind: number, opts?: { tags?: string[][]; content?: string; pow?: number; createdAt?: number }): Event
}

export function author(): Author {
  const sk = generateSecretKey()
  const pubkey = getPublicKey(sk)
  return {
    sk,
    pubkey,
    sign(kind, { tags = [], content = '', pow = 0, createdAt = now() } = {}) {
      const template = { kind, tags: [...tags], content, created_at: createdAt }
      if (pow === 0) return finalizeEvent(template, sk)
      // minePow stamps its own created_at (now) into what it hashes: sign exactly what it mined.
      const mined = minePow({ ...template, pubkey }, pow)
      return finalizeEvent({ kind, tags: mined.tags, content, created_at: mined.created_at }, sk)
    }
  }
}

/**
 * An id with at least `bits` leading zero bits that commits to no target (its nonce tag has two
 * elements, or `target` as its third): what a spammer gets by publishing until lucky.
 */
export function luckyEvent(who: Author, kind: number, bits: number, target?: string): Event {
  const base = { kind, content: 'lucky', created_at: now(), pubkey: who.pubkey }
  for (let n = 0; ; n++) {
    const nonce = target === undefined ? ['nonce', String(n)] : ['nonce', String(n), target]
    const candidate = { ...base, tags: [nonce] }
    if (getPow(getEventHash(candidate)) >= bits) return finalizeEvent({ ...candidate }, who.sk)
  }
}

export function now(): number {
  return Math.floor(Date.now() / 1000)
}

/** The NIP-11 document of the relay at `url`. */
export async function info(url: string): Promise<Record<string, any>> {
  const res = await fetch(url.replace(/^ws/, 'http'), { headers: { accept: 'application/nostr+json' } })
  return (await res.json()) as Record<string, any>
}
