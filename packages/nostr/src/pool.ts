// One relay pool per process, on nostr-tools' SimplePool: it verifies every event's signature,
// reconnects to a dropped relay with backoff and resubscribes, and pings to notice dead links.
//
// A daemon (the agent) asks for a persistent pool: it holds a connection to every relay, redials a
// relay that went away (or was down from the start) with its own backoff, and emits 'reconnect'
// when one comes back, so that what the relay may have lost (a restart with empty storage) can be
// published again. nostr-tools' own reconnect is off there: a relay object that redials by itself
// and is then dropped from the pool by a failed publish would redial forever beside its successor.

import { EventEmitter } from 'node:events'
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool'
import type { AbstractRelay } from 'nostr-tools/abstract-relay'
import type { Event, Filter } from 'nostr-tools'
import { WebSocket } from 'ws'

useWebSocketImplementation(WebSocket)

export interface RelayPoolOptions {
  /** Hold a connection to every relay and redial it when it drops; emits 'reconnect'. */
  persistent?: boolean
}

/** Redial delays of a persistent pool, in ms; the last repeats. */
export const REDIAL_BACKOFF_MS: readonly number[] = Object.freeze([500, 1000, 2000, 5000, 10_000, 30_000])
// setTimeout's largest delay: a persistent pool never closes a relay for being idle.
const NEVER_IDLE_MS = 2 ** 31 - 1

export interface RelayPool {
  /** A relay that had dropped, or had never answered, is connected again. */
  on(event: 'reconnect', listener: (url: string) => void): this
}

export class RelayPool extends EventEmitter {
  readonly relays: string[]
  private readonly pool: SimplePool
  private closed = false
  private readonly wakeups = new Set<() => void>()

  constructor(relays: string[], opts: RelayPoolOptions = {}) {
    super()
    this.relays = [...new Set(relays)]
    this.pool = new SimplePool({ enableReconnect: !opts.persistent, enablePing: true })
    if (opts.persistent) {
      this.pool.idleTimeout = NEVER_IDLE_MS
      for (const url of this.relays) void this.supervise(url)
    }
  }

  async query(filter: Filter, maxWaitMs = 4000): Promise<Event[]> {
    return this.pool.querySync(this.relays, filter, { maxWait: maxWaitMs })
  }

  /** Publishes to every relay (or to `only`); resolves with how many accepted it (0 is not an error: relays come and go). */
  async publish(event: Event, timeoutMs = 5000, only?: string[]): Promise<number> {
    const attempts = this.pool
      .publish(only ?? this.relays, event)
      .map((p) =>
        Promise.race([
          p.then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())
        ]).catch(() => false)
      )
    return (await Promise.all(attempts)).filter(Boolean).length
  }

  close(): void {
    this.closed = true
    for (const wake of this.wakeups) wake()
    this.pool.close(this.relays)
  }

  /** Keeps one relay connected: dial, wait for the connection to close, back off, dial again. */
  private async supervise(url: string): Promise<void> {
    let failures = 0
    let dropped = false
    while (!this.closed) {
      try {
        const relay = await this.pool.ensureRelay(url, { connectionTimeout: 5000 })
        // Connected while close() ran: the pool no longer holds it, so nobody else would close it.
        if (this.closed) return relay.close()
        failures = 0
        if (dropped) this.emit('reconnect', url)
        await closedOf(relay)
      } catch {
        failures++
      }
      dropped = true
      await this.pause(REDIAL_BACKOFF_MS[Math.min(failures, REDIAL_BACKOFF_MS.length - 1)] as number)
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.wakeups.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      timer.unref()
      this.wakeups.add(wake)
    })
  }
}

/** Resolves when the relay's connection closes (the pool's own onclose still runs first). */
function closedOf(relay: AbstractRelay): Promise<void> {
  return new Promise((resolve) => {
    const previous = relay.onclose
    relay.onclose = () => {
      previous?.()
      resolve()
    }
  })
}
