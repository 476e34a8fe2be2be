// The event repository handed to @nostr-relay/core, with NIP-01 storage semantics:
//   regular events are kept; replaceable kinds (0, 3, 10000-19999) keep only the newest event per
//   (pubkey, kind), addressable kinds (30000-39999) the newest per (pubkey, kind, d tag), the lower
//   id winning a created_at tie; ephemeral kinds (20000-29999) are never stored.
// Queries answer newest first (created_at descending, then id ascending) and skip events whose
// NIP-40 expiration has passed.
// NIP-09 deletions (kind 5) are stored like regular events and applied: the `e` ids and `a`
// coordinates (up to the deletion's created_at) of the deletion's own author are removed and
// refused from then on. A tombstone is keyed by id *and* author, so a stranger naming an id it does
// not own blocks nothing. Deletions are replayed from the journal like any event, so they survive a
// restart and compaction (the kind 5 events stay; the events they deleted are gone).

import { EventRepository, type Event, type EventRepositoryUpsertResult, type Filter } from '@nostr-relay/common'
import { matchFilter, type Filter as NostrToolsFilter } from 'nostr-tools/filter'
import { EventDeletion } from 'nostr-tools/kinds'
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

/** The NIP-01 `a` coordinate `kind:pubkey:d`, with an empty d for replaceable kinds. */
function coordinate(event: Event, cls: 'replaceable' | 'addressable'): string {
  const d = cls === 'addressable' ? (event.tags.find((tag) => tag[0] === 'd')?.[1] ?? '') : ''
  return `${event.kind}:${event.pubkey}:${d}`
}

function replaceableClass(kind: number): 'replaceable' | 'addressable' | null {
  const cls = classifyKind(kind)
  return cls === 'replaceable' || cls === 'addressable' ? cls : null
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
  /** `id:author` of every event its author deleted by id. */
  private readonly deletedIds = new Set<string>()
  /** Coordinate → the newest created_at up to which its author deleted it. */
  private readonly deletedCoordinates = new Map<string, number>()
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

  // The core hands kind 5 here instead of to upsert; it is stored (and journaled) like any event.
  override async deleteByDeletionRequest(event: Event): Promise<void> {
    await this.upsert(event)
  }

  /** Whether the event's author deleted it (NIP-09): publishing it again is refused. */
  isDeleted(event: Event): boolean {
    // A deletion of a deletion has no effect (NIP-09).
    if (event.kind === EventDeletion) return false
    if (this.deletedIds.has(`${event.id}:${event.pubkey}`)) return true
    const cls = replaceableClass(event.kind)
    const until = cls ? this.deletedCoordinates.get(coordinate(event, cls)) : undefined
    return until !== undefined && event.created_at <= until
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
    if (cls === 'ephemeral' || this.byId.has(event.id) || this.isDeleted(event)) return false
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
    if (event.kind === EventDeletion) this.applyDeletion(event)
    return true
  }

  private applyDeletion(deletion: Event): void {
    for (const [name, value] of deletion.tags) {
      if (typeof value !== 'string') continue
      if (name === 'e') {
        this.deletedIds.add(`${value}:${deletion.pubkey}`)
        const target = this.byId.get(value)
        if (target && this.isDeleted(target)) this.remove(target)
      } else if (name === 'a') {
        const [kind, pubkey] = value.split(':')
        const cls = replaceableClass(Number(kind))
        // Only a coordinate of the deletion's own author, and of a kind that has coordinates.
        if (pubkey !== deletion.pubkey || cls === null || !/^\d+$/.test(kind ?? '')) continue
        const until = Math.max(this.deletedCoordinates.get(value) ?? 0, deletion.created_at)
        this.deletedCoordinates.set(value, until)
        const current = this.byId.get(this.latest.get(value) ?? '')
        if (current && this.isDeleted(current)) this.remove(current)
      }
    }
  }

  private remove(event: Event): void {
    this.byId.delete(event.id)
    const cls = replaceableClass(event.kind)
    if (cls && this.latest.get(coordinate(event, cls)) === event.id) this.latest.delete(coordinate(event, cls))
  }
}
