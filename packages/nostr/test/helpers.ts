// Shared test helpers for @2020117/nostr: a cleanup stack (run it from afterEach), temp dirs under
// os.tmpdir(), an in-process relay on loopback, relay pools, and signed-event builders.

import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { finalizeEvent, type Event } from 'nostr-tools/pure'
// @2020117/relay is not a dependency of this package: import its sources directly.
import { startRelay } from '@2020117/relay'
import { NostrError, type NostrErrorCode } from '../src/errors.js'
import { RelayPool } from '../src/pool.js'
import { PRESENCE_D_TAG } from '../src/presence.js'
import { kinds as KIND } from '@2020117/protocol'

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

/** A relay in memory; `port` restarts one on the port of a relay that was closed. */
export async function relay(port = 0): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const running = await startRelay({ port, dir: null })
  onCleanup(() => running.close())
  return running
}

export function pool(relays: string[], opts: { persistent?: boolean } = {}): RelayPool {
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
