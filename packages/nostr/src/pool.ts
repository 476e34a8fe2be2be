// One relay pool per process, on nostr-tools' SimplePool: it verifies every event's signature,
// reconnects to a dropped relay with backoff and resubscribes, and pings to notice dead links.
//
// A subscription stays open for as long as its owner wants it: a persistent pool opens it again on
// a relay that came back, from `since()` (the owner's cursor), so that a relay restart loses no
// request and replays nothing the cursor has passed.
//
// A daemon (the agent) asks for a persistent pool: it holds a connection to every relay, redials a
// relay that went away (or was down from the start) with its own backoff, and emits 'reconnect'
// when one comes back, so that what the relay may have lost (a restart with empty storage) can be
// published again. nostr-tools' own reconnect is off there: a relay object that redials by itself
// and is then dropped from the pool by a failed publish would redial forever beside its successor.

import { EventEmitter } from 'node:events'
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool'
import type { AbstractRelay, Subscription } from 'nostr-tools/abstract-relay'
import type { Event, Filter } from 'nostr-tools'
import { WebSocket } from 'ws'

/**
 * nostr-tools closes a socket that is still connecting when its connection timeout fires, after
 * dropping the socket's error listener, and ws then emits 'error' with no listener: a relay that
 * takes the TCP connection and never answers the handshake would kill the process. Every socket
 * keeps a listener of its own; nostr-tools still learns of the failure through its timeout.
 */
class GuardedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args)
    this.on('error', () => {})
  }
}

useWebSocketImplementation(GuardedWebSocket)

export interface RelayPoolOptions {
  /** Hold a connection to every relay and redial it when it drops; emits 'reconnect'. */
  persistent?: boolean
}

/** Redial delays of a persistent pool, in ms; the last repeats. */
export const REDIAL_BACKOFF_MS: readonly number[] = Object.freeze([500, 1000, 2000, 5000, 10_000, 30_000])
// setTimeout's largest delay: a persistent pool never closes a relay for being idle.
const NEVER_IDLE_MS = 2 ** 31 - 1

export interface SubscribeOptions {
  /** Asked at every (re)open: only events from this unix time on. */
  since?: () => number | undefined
}

export interface PoolSubscription {
  /** Resolves when every connected relay has sent what it stored (EOSE) for this subscription. */
  readonly ready: Promise<void>
  close(): void
}

interface OpenSubscription {
  filter: Filter
  onevent: (event: Event, relay: string) => void
  opts: SubscribeOptions
  /** Per connected relay: the relay's subscription and its EOSE. */
  open: Map<string, { sub: Subscription; eose: Promise<void> }>
}

export interface RelayPool {
  /** A relay that had dropped, or had never answered, is connected again. */
  on(event: 'reconnect', listener: (url: string) => void): this
}

export class RelayPool extends EventEmitter {
  readonly relays: string[]
  private readonly pool: SimplePool
  private closed = false
  private readonly wakeups = new Set<() => void>()
  private readonly persistent: boolean
  private readonly connected = new Map<string, AbstractRelay>()
  private readonly subscriptions = new Set<OpenSubscription>()
  /** Per relay, settled once its first dial has succeeded or failed: `ready` waits for it. */
  private readonly firstDials: Array<Promise<void>> = []

  constructor(relays: string[], opts: RelayPoolOptions = {}) {
    super()
    this.relays = [...new Set(relays)]
    this.pool = new SimplePool({ enableReconnect: !opts.persistent, enablePing: true })
    this.persistent = opts.persistent === true
    if (opts.persistent) {
      this.pool.idleTimeout = NEVER_IDLE_MS
      for (const url of this.relays) {
        let dialled!: () => void
        this.firstDials.push(new Promise<void>((resolve) => (dialled = resolve)))
        void this.supervise(url, dialled)
      }
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

  /**
   * Calls `onevent` with every event that matches `filter`, from every relay (the same event may
   * come from several: deduplicate by id). Signatures are verified by the pool before it is called.
   */
  subscribe(
    filter: Filter,
    onevent: (event: Event, relay: string) => void,
    opts: SubscribeOptions = {}
  ): PoolSubscription {
    if (!this.persistent) return this.subscribeOnce(filter, onevent, opts)
    const entry: OpenSubscription = { filter, onevent, opts, open: new Map() }
    this.subscriptions.add(entry)
    for (const [url, relay] of this.connected) this.openOn(entry, url, relay)
    const dials = this.firstDials
    return {
      get ready() {
        return Promise.all(dials).then(() => Promise.all([...entry.open.values()].map((o) => o.eose)).then(() => {}))
      },
      close: () => {
        this.subscriptions.delete(entry)
        for (const { sub } of entry.open.values()) sub.close()
        entry.open.clear()
      }
    }
  }

  close(): void {
    this.closed = true
    this.subscriptions.clear()
    for (const wake of this.wakeups) wake()
    this.pool.close(this.relays)
  }

  /** Keeps one relay connected: dial, wait for the connection to close, back off, dial again. */
  private async supervise(url: string, dialled: () => void): Promise<void> {
    let failures = 0
    let dropped = false
    while (!this.closed) {
      try {
        const relay = await this.pool.ensureRelay(url, { connectionTimeout: 5000 })
        // Connected while close() ran: the pool no longer holds it, so nobody else would close it.
        if (this.closed) return relay.close()
        failures = 0
        this.connected.set(url, relay)
        for (const entry of this.subscriptions) this.openOn(entry, url, relay)
        dialled()
        if (dropped) this.emit('reconnect', url)
        await closedOf(relay)
        this.connected.delete(url)
        for (const entry of this.subscriptions) entry.open.delete(url)
      } catch {
        failures++
        dialled()
      }
      dropped = true
      await this.pause(REDIAL_BACKOFF_MS[Math.min(failures, REDIAL_BACKOFF_MS.length - 1)] as number)
    }
  }

  private openOn(entry: OpenSubscription, url: string, relay: AbstractRelay): void {
    const since = entry.opts.since?.()
    const filter = since === undefined ? entry.filter : { ...entry.filter, since }
    let eosed!: () => void
    const eose = new Promise<void>((resolve) => (eosed = resolve))
    const sub = relay.subscribe([filter], {
      onevent: (event) => entry.onevent(event, url),
      oneose: () => eosed(),
      // A subscription the relay closed (or a dropped connection) counts as done for `ready`.
      onclose: () => {
        eosed()
        if (entry.open.get(url)?.sub === sub) entry.open.delete(url)
      }
    })
    entry.open.set(url, { sub, eose })
  }

  /** A pool that is not persistent leaves reconnecting and resubscribing to nostr-tools. */
  private subscribeOnce(
    filter: Filter,
    onevent: (event: Event, relay: string) => void,
    opts: SubscribeOptions
  ): PoolSubscription {
    const since = opts.since?.()
    let eosed!: () => void
    const ready = new Promise<void>((resolve) => (eosed = resolve))
    const closer = this.pool.subscribeMany(this.relays, since === undefined ? filter : { ...filter, since }, {
      onevent: (event) => onevent(event, ''),
      oneose: () => eosed(),
      onclose: () => eosed()
    })
    return { ready, close: () => closer.close() }
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
