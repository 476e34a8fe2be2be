// `--ignore-reported`: the customers this provider reported (NIP-56 kind 1984 signed by its own
// key, any type) get no answer to their job requests. A report it deleted (NIP-09 kind 5 with the
// report's `e`, by its own key) no longer counts. Read from its relays by one live subscription, so
// a report or a deletion the operator publishes (2020117-trust report, or any client holding the
// key) applies to the next request, with no relay read per request.
//
// Invariants: only events signed by our own key count (the pool verifies signatures; the author is
// checked again here); at most MAX_SIGNAL_EVENTS reports and as many deletions are kept, a report
// with more than MAX_SIGNAL_TAGS tags is dropped (SPEC §11.5).

import { kinds as KIND, MAX_SIGNAL_EVENTS, MAX_SIGNAL_TAGS } from '@2020117/protocol'
import type { RelayPool } from '@2020117/nostr'
import type { Logger } from '@2020117/cli'
import type { Event } from 'nostr-tools/pure'

const HEX64 = /^[0-9a-f]{64}$/

export class ReportedCustomers {
  private readonly self: string
  /** Report id → the keys it reports (its `p` tags); a deleted report is removed. */
  private readonly reports = new Map<string, string[]>()
  private readonly deleted = new Set<string>()
  private readonly seen = new Set<string>()

  constructor(self: string) {
    this.self = self
  }

  /**
   * Subscribes to our reports and deletions; `ready` resolves once every relay sent what it holds.
   * What changes afterwards is logged: the operator sees its report take effect.
   */
  follow(pool: Pick<RelayPool, 'subscribe'>, log: Pick<Logger, 'info'>): ReturnType<RelayPool['subscribe']> {
    let live = false
    const sub = pool.subscribe({ kinds: [KIND.Report, KIND.Deletion], authors: [this.self] }, (event) => {
      const change = this.add(event)
      if (live && change) log.info(`--ignore-reported: ${change}`)
    })
    void sub.ready.then(() => (live = true))
    return sub
  }

  /** Takes one event, a report or a deletion of ours (anything else is dropped); says what changed. */
  add(event: Event): string | null {
    if (event.pubkey !== this.self || this.seen.has(event.id) || event.tags.length > MAX_SIGNAL_TAGS) return null
    keep(this.seen, event.id, undefined, 2 * MAX_SIGNAL_EVENTS)
    if (event.kind === KIND.Report) {
      const targets = event.tags.filter((t) => t[0] === 'p' && HEX64.test(t[1] ?? '')).map((t) => t[1] as string)
      if (targets.length === 0 || this.deleted.has(event.id)) return null
      keep(this.reports, event.id, targets)
      return `report ${event.id.slice(0, 12)}: not answering ${targets.map((t) => t.slice(0, 12)).join(', ')}`
    }
    if (event.kind !== KIND.Deletion) return null
    const ids = event.tags.filter((t) => t[0] === 'e' && HEX64.test(t[1] ?? '')).map((t) => t[1] as string)
    for (const id of ids) keep(this.deleted, id)
    const undone = ids.filter((id) => this.reports.delete(id))
    return undone.length ? `report ${undone.map((id) => id.slice(0, 12)).join(', ')} deleted: answering again` : null
  }

  /** Whether a report of ours that we did not delete names `pubkey`. */
  has(pubkey: string): boolean {
    for (const targets of this.reports.values()) if (targets.includes(pubkey)) return true
    return false
  }

  /** Our reports in force. */
  get size(): number {
    return this.reports.size
  }
}

/** Adds to a bounded map or set; past the bound the oldest entry goes. */
function keep<V>(into: Map<string, V> | Set<string>, key: string, value?: V, max = MAX_SIGNAL_EVENTS): void {
  if (into instanceof Map) into.set(key, value as V)
  else into.add(key)
  if (into.size > max) into.delete(into.keys().next().value as string)
}
