// Keeps a provider findable on the DHT. Hyperswarm refreshes a topic's announce every 10 minutes
// and the server's own-key announce every 5, and refreshes both on the DHT's online edge. But a
// node whose DHT restarted under it with empty storage (bootstrap nodes back on the same
// addresses) stays "online" throughout: its health monitor skips an idle node, so no edge comes and
// customers get NO_PROVIDERS for minutes. So the keeper looks its own records up every period, as a
// customer would, and announces again as soon as one is missing.
//
// Invariants: one check at a time; a check never throws; a stopped keeper starts no query.

import { EventEmitter } from 'node:events'
import b4a from 'b4a'
import type Hyperswarm from 'hyperswarm'
import type { Discovery } from 'hyperswarm'

interface Query extends AsyncIterable<{ peers?: Array<{ publicKey: Uint8Array }>; peer?: unknown }> {
  destroy(): void
}

interface Tracked {
  label: string
  topic: Uint8Array
  discovery: Discovery
}

export interface AnnounceKeeper {
  /** Some record a customer needs is missing: what is missing, e.g. ['kind 5200', 'swarm key']. */
  on(event: 'lost', listener: (missing: string[]) => void): this
  /** Every record is back after a loss. */
  on(event: 'restored', listener: () => void): this
}

export class AnnounceKeeper extends EventEmitter {
  private readonly tracked = new Map<string, Tracked>()
  private timer: NodeJS.Timeout | null = null
  private checking = false
  private lost = false
  private stopped = false

  constructor(
    private readonly swarm: Hyperswarm,
    private readonly periodMs: number,
    /** A lookup that takes longer than this counts as not finding the record. */
    private readonly queryDeadlineMs = 20_000
  ) {
    super()
  }

  /** Starts watching one announced topic. */
  track(label: string, topic: Uint8Array, discovery: Discovery): void {
    this.tracked.set(b4a.toString(topic, 'hex'), { label, topic, discovery })
    this.schedule(this.periodMs)
  }

  /** Checks at once: the network changed. */
  nudge(): void {
    if (this.tracked.size > 0) this.schedule(0)
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(ms: number): void {
    if (this.stopped || this.checking) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.run(), ms)
    this.timer.unref()
  }

  private async run(): Promise<void> {
    this.timer = null
    this.checking = true
    try {
      await this.check()
    } finally {
      this.checking = false
      this.schedule(this.periodMs)
    }
  }

  private async check(): Promise<void> {
    const missing = await this.missing()
    if (this.stopped) return
    if (missing.length === 0) {
      if (this.lost) this.emit('restored')
      this.lost = false
      return
    }
    if (!this.lost) this.emit('lost', missing)
    this.lost = true
    await this.reannounce()
  }

  private async missing(): Promise<string[]> {
    const dht = this.swarm.dht
    const self = this.swarm.keyPair.publicKey
    const out: string[] = []
    for (const { label, topic } of this.tracked.values()) {
      if (this.stopped) return []
      const found = await this.finds(dht.lookup(topic), (d) => d.peers?.some((p) => b4a.equals(p.publicKey, self)) === true)
      if (!found) out.push(label)
    }
    if (this.stopped) return []
    // Customers who know the key (from a heartbeat, or --provider) dial it: its own record counts too.
    if (!(await this.finds(dht.findPeer(self), (d) => Boolean(d.peer)))) out.push('swarm key')
    return out
  }

  private async finds(query: Query, match: (data: { peers?: Array<{ publicKey: Uint8Array }>; peer?: unknown }) => boolean): Promise<boolean> {
    const deadline = setTimeout(() => query.destroy(), this.queryDeadlineMs)
    try {
      for await (const data of query) if (match(data)) return true
      return false
    } catch {
      return false
    } finally {
      clearTimeout(deadline)
      query.destroy()
    }
  }

  /**
   * The server's refresh is a flag its announcer reads every 3 s, and an update already under way
   * clears it: so it is set again on every check until the record is found.
   */
  private async reannounce(): Promise<void> {
    const server = this.swarm.server
    server?.refresh()
    server?.notifyOnline()
    await Promise.allSettled([...this.tracked.values()].map((t) => t.discovery.refresh()))
  }
}
