// Keeps a provider findable on the DHT. Hyperswarm refreshes a topic's announce every 10 minutes
// and the server's own-key announce every 5, and refreshes both on the DHT's online edge. But a
// node whose DHT restarted under it with empty storage (bootstrap nodes back on the same
// addresses) stays "online" throughout: its health monitor skips an idle node, so no edge comes and
// customers get NO_PROVIDERS for minutes. So the keeper looks its own records up every period, as a
// customer would, and announces again as soon as one is missing; the DHT's network events only
// bring the next check forward.
//
// Invariants: one check at a time; a check never throws; a stopped keeper starts no query.

import { EventEmitter } from 'node:events'
import b4a from 'b4a'
import HyperDHT from 'hyperdht'
import type Hyperswarm from 'hyperswarm'
import type { Discovery } from 'hyperswarm'

/** What a lookup (peers) or a findPeer (peer) query yields. */
interface Reply {
  peers?: Array<{ publicKey: Uint8Array }>
  peer?: unknown
}

interface Query extends AsyncIterable<Reply> {
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
    this.reannounce(missing)
  }

  /** Looks every record up at once, as a customer would; resolves with the labels of those not found. */
  private async missing(): Promise<string[]> {
    const dht = this.swarm.dht
    const self = this.swarm.keyPair.publicKey
    const holdsSelf = (d: Reply) => d.peers?.some((p) => b4a.equals(p.publicKey, self)) === true
    const checks = [...this.tracked.values()].map(({ label, topic }) =>
      this.finds(dht.lookup(topic), holdsSelf).then((ok) => (ok ? null : label))
    )
    // Customers who know the key (from a heartbeat, or --provider) dial it: its own record counts too.
    checks.push(this.finds(dht.findPeer(self), (d) => Boolean(d.peer)).then((ok) => (ok ? null : 'swarm key')))
    return (await Promise.all(checks)).filter((label): label is string => label !== null)
  }

  private async finds(query: Query, match: (data: Reply) => boolean): Promise<boolean> {
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
   * Hyperswarm's own refreshes start from the nodes closest last time, which died with the old
   * DHT, and take seconds to time out through them; the server's refresh is a flag its announcer
   * reads every 3 s and an update under way clears. So each missing record is also announced
   * directly through the routing table, as hyperswarm would (same record, same key pair), and the
   * refreshes are asked for as well: they move hyperswarm's notion of where the records live to the
   * new nodes, which is where it unannounces them on leave. Nothing here is awaited: a refresh
   * under way is joined, not repeated, and a direct announce is bounded by the query deadline.
   */
  private reannounce(missing: string[]): void {
    const { dht, keyPair, server } = this.swarm
    const relayAddresses = server?.relayAddresses ?? []
    server?.refresh()
    server?.notifyOnline()
    for (const { label, topic, discovery } of this.tracked.values()) {
      discovery.refresh().catch(() => {})
      if (missing.includes(label)) void this.settle(dht.announce(topic, keyPair, relayAddresses))
    }
    if (missing.includes('swarm key'))
      void this.settle(dht.announce(HyperDHT.hash(keyPair.publicKey), keyPair, relayAddresses))
  }

  private async settle(query: { finished(): Promise<void>; destroy(): void }): Promise<void> {
    const deadline = setTimeout(() => query.destroy(), this.queryDeadlineMs)
    try {
      await query.finished()
    } catch {
      // The next check says whether it took.
    } finally {
      clearTimeout(deadline)
    }
  }
}
