// The event repository handed to @nostr-relay/core, with NIP-01 storage semantics:
//   regular events are kept; replaceable kinds (0, 3, 10000-19999) keep only the newest event per
//   (pubkey, kind), addressable kinds (30000-39999) the newest per (pubkey, kind, d tag), the lower
//   id winning a created_at tie; ephemeral kinds (20000-29999) are never stored.
// Queries answer newest first (created_at descending, then id ascending) and skip events whose
// NIP-40 expiration has passed.

import { EventRepository, type Event, type EventRepositoryUpsertResult, type Filter } from '@nostr-relay/common'
import { matchFilter, type Filter as NostrToolsFilter } from 'nostr-tools/filter'
import { Journal, readJournal, rewriteJournal } from './journal.js'

type KindClass = 'regular' | 'replaceable' | 'ephemeral' | 'addressable'

export function classifyKind(kind: number): KindClass {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return 'replaceable'
  if (kind >= 20000 && kind < 30000) return 'ephemeral'
  if (kind >= 30000 && kind < 40000) return 'addressable'
  return 'regular'
}

// Both libraries describe the NIP-01 filter: @nostr-relay/common lists the single-letter tag keys,
// nostr-tools uses an index signature. Filters are shape-checked on arrival (messages.ts).
export function matchesFilter(filter: Filter, event: Event): boolean {
  return matchFilter(filter as NostrToolsFilter, event)
}

function coordinate(event: Event, cls: 'replaceable' | 'addressable'): string {
  if (cls === 'replaceable') return `${event.kind}:${event.pubkey}`
  const d = event.tags.find((tag) => tag[0] === 'd')?.[1] ?? ''
  return `${event.kind}:${event.pubkey}:${d}`
}

/** True when `a` should replace `b` under NIP-01 (newer, or same second and lower id). */
function supersedes(a: Event, b: Event): boolean {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id)
}

function newestFirst(a: Event, b: Event): number {
  return b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

function expired(event: Event, now: number): boolean {
  const tag = event.tags.find((t) => t[0] === 'expiration')
  if (!tag || tag[1] === undefined) return false
  const at = Number.parseInt(tag[1], 10)
  return Number.isFinite(at) && at <= now
}

export class EventStore extends EventRepository {
  private readonly byId = new Map<string, Event>()
  private readonly latest = new Map<string, string>()
  private readonly maxLimit: number
  private journal: Journal | null = null
  // Upserts run one at a time so that the journal order is the order in which events were
  // applied: replaying it then rebuilds exactly the same store.
  private tail: Promise<unknown> = Promise.resolve()

  constructor(maxLimit: number) {
    super()
    this.maxLimit = maxLimit
  }

  /** Replays (and if worthwhile compacts) the journal in `dir`, then journals every new event. */
  async persistTo(dir: string): Promise<void> {
    const contents = await readJournal(dir)
    for (const event of contents.events) this.apply(event)
    const garbage = contents.lines - this.byId.size
    if (contents.tornTail || (garbage > 0 && garbage >= this.byId.size)) {
      await rewriteJournal(dir, this.byId.values())
    }
    this.journal = await Journal.open(dir)
  }

  get size(): number {
    return this.byId.size
  }

  isSearchSupported(): boolean {
    return false
  }

  upsert(event: Event): Promise<EventRepositoryUpsertResult> {
    const run = this.tail.then(async () => {
      if (!this.wouldStore(event)) return { isDuplicate: classifyKind(event.kind) !== 'ephemeral' }
      await this.journal?.append(event)
      this.apply(event)
      return { isDuplicate: false }
    })
    this.tail = run.catch(() => undefined)
    return run
  }

  find(filter: Filter): Event[] {
    const limit = Math.min(filter.limit ?? this.maxLimit, this.maxLimit)
    if (limit <= 0) return []
    const now = Math.floor(Date.now() / 1000)
    const candidates = filter.ids
      ? [...new Set(filter.ids)].flatMap((id) => this.byId.get(id) ?? [])
      : this.byId.values()
    const matches: Event[] = []
    for (const event of candidates) {
      if (matchesFilter(filter, event) && !expired(event, now)) matches.push(event)
    }
    return matches.sort(newestFirst).slice(0, limit)
  }

  async destroy(): Promise<void> {
    await this.tail
    await this.journal?.close()
    this.journal = null
  }

  private wouldStore(event: Event): boolean {
    const cls = classifyKind(event.kind)
    if (cls === 'ephemeral' || this.byId.has(event.id)) return false
    if (cls === 'regular') return true
    const current = this.byId.get(this.latest.get(coordinate(event, cls)) ?? '')
    return !current || supersedes(event, current)
  }

  /** Applies one event to memory; the same code serves live upserts and journal replay. */
  private apply(event: Event): boolean {
    if (!this.wouldStore(event)) return false
    const cls = classifyKind(event.kind)
    if (cls === 'replaceable' || cls === 'addressable') {
      const key = coordinate(event, cls)
      const previous = this.latest.get(key)
      if (previous !== undefined) this.byId.delete(previous)
      this.latest.set(key, event.id)
    }
    this.byId.set(event.id, event)
    return true
  }
}
