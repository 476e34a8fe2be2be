// One relay pool per process, on nostr-tools' SimplePool: it verifies every event's signature,
// reconnects to a dropped relay with backoff and resubscribes, and pings to notice dead links.

import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool'
import type { Event, Filter } from 'nostr-tools'
import { WebSocket } from 'ws'

useWebSocketImplementation(WebSocket)

export class RelayPool {
  readonly relays: string[]
  private readonly pool = new SimplePool({ enableReconnect: true, enablePing: true })

  constructor(relays: string[]) {
    this.relays = [...new Set(relays)]
  }

  async query(filter: Filter, maxWaitMs = 4000): Promise<Event[]> {
    return this.pool.querySync(this.relays, filter, { maxWait: maxWaitMs })
  }

  /** Publishes to every relay; resolves with how many accepted it (0 is not an error: relays come and go). */
  async publish(event: Event, timeoutMs = 5000): Promise<number> {
    const attempts = this.pool.publish(this.relays, event).map((p) =>
      Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())]).catch(() => false)
    )
    return (await Promise.all(attempts)).filter(Boolean).length
  }

  close(): void {
    this.pool.close(this.relays)
  }
}
