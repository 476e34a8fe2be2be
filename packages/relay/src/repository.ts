// The event repository handed to @nostr-relay/core, in SQLite (better-sqlite3), with NIP-01
// storage semantics:
//   regular events are kept; replaceable kinds (0, 3, 10000-19999) keep only the newest event per
//   (pubkey, kind), addressable kinds (30000-39999) the newest per (pubkey, kind, d tag), the lower
//   id winning a created_at tie; ephemeral kinds (20000-29999) are never stored.
// Queries answer newest first (created_at descending, then id ascending), at most `maxLimit`
// events per filter, and never an event whose NIP-40 expiration has passed.
// NIP-09 deletions (kind 5) are stored like regular events and applied: the `e` ids and `a`
// coordinates (up to the deletion's created_at) of the deletion's own author are removed and
// refused from then on. A tombstone is keyed by id *and* author, so a stranger naming an id it does
// not own blocks nothing. Tombstones live in their own tables, so they outlive a pruned kind 5.
//
// Why these SQLite settings: the core sends OK once `upsert` resolves, so a write must be on disk
// by then. WAL with synchronous=FULL fsyncs the WAL on every commit (one small sequential write per
// event) and lets readers run beside the writer; a crash loses no committed transaction.
// better-sqlite3 is synchronous: a commit holds the event loop for one fsync, which is what
// "durable before OK" costs anyway, and it keeps every upsert atomic without a queue.

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { EventRepository, type Event, type EventRepositoryUpsertResult, type Filter } from '@nostr-relay/common'
import { EventDeletion } from 'nostr-tools/kinds'
import { RelayError } from './errors.js'
import { filterQuery } from './sql.js'

type KindClass = 'regular' | 'replaceable' | 'ephemeral' | 'addressable'

export function classifyKind(kind: number): KindClass {
  if (kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000)) return 'replaceable'
  if (kind >= 20000 && kind < 30000) return 'ephemeral'
  if (kind >= 30000 && kind < 40000) return 'addressable'
  return 'regular'
}

/** The NIP-40 expiration of an event, or null when it has none (or an unreadable one). */
export function expirationOf(event: Event): number | null {
  const tag = event.tags.find((t) => t[0] === 'expiration')
  if (!tag || typeof tag[1] !== 'string' || !/^\d{1,15}$/.test(tag[1])) return null
  return Number(tag[1])
}

/** The NIP-01 `a` coordinate `kind:pubkey:d` (empty d for replaceable kinds), null for other kinds. */
function coordinateOf(event: Event): string | null {
  const cls = classifyKind(event.kind)
  if (cls !== 'replaceable' && cls !== 'addressable') return null
  const d = cls === 'addressable' ? (event.tags.find((tag) => tag[0] === 'd')?.[1] ?? '') : ''
  return `${event.kind}:${event.pubkey}:${d}`
}

/** An `a` tag value as a coordinate of `author`'s, or null when it names another author or no such kind. */
function ownCoordinate(value: string, author: string): string | null {
  const m = /^(\d{1,5}):([0-9a-f]{64}):(.*)$/s.exec(value) ?? /^(\d{1,5}):([0-9a-f]{64})$/.exec(value)
  if (!m || m[2] !== author) return null
  const cls = classifyKind(Number(m[1]))
  if (cls !== 'replaceable' && cls !== 'addressable') return null
  return `${Number(m[1])}:${m[2]}:${cls === 'addressable' ? (m[3] ?? '') : ''}`
}

const SINGLE_LETTER = /^[a-zA-Z]$/
const MAX_CACHED_QUERIES = 256

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    pubkey TEXT NOT NULL,
    kind INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    content TEXT NOT NULL,
    tags TEXT NOT NULL,
    sig TEXT NOT NULL,
    coordinate TEXT,
    expiration INTEGER
  );
  CREATE UNIQUE INDEX IF NOT EXISTS events_coordinate ON events (coordinate) WHERE coordinate IS NOT NULL;
  CREATE INDEX IF NOT EXISTS events_created ON events (created_at DESC, id);
  CREATE INDEX IF NOT EXISTS events_kind ON events (kind, created_at DESC);
  CREATE INDEX IF NOT EXISTS events_pubkey ON events (pubkey, kind, created_at DESC);
  CREATE INDEX IF NOT EXISTS events_expiration ON events (expiration) WHERE expiration IS NOT NULL;
  CREATE TABLE IF NOT EXISTS tags (
    event INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tags_value ON tags (name, value, created_at DESC);
  CREATE INDEX IF NOT EXISTS tags_event ON tags (event);
  CREATE TABLE IF NOT EXISTS deleted_ids (
    id TEXT NOT NULL,
    pubkey TEXT NOT NULL,
    PRIMARY KEY (id, pubkey)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS deleted_coordinates (
    coordinate TEXT PRIMARY KEY,
    until INTEGER NOT NULL
  ) WITHOUT ROWID;
`

interface Row {
  seq: number
  id: string
  pubkey: string
  kind: number
  created_at: number
  content: string
  tags: string
  sig: string
}

function toEvent(row: Row): Event {
  const { id, pubkey, kind, created_at, content, tags, sig } = row
  return { id, pubkey, kind, created_at, content, tags: JSON.parse(tags) as string[][], sig }
}

function openDatabase(path: string): Database.Database {
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    const db = new Database(path)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    // A second process on the same file (an operator's sqlite3 shell) waits instead of failing.
    db.pragma('busy_timeout = 5000')
    db.exec(SCHEMA)
    return db
  } catch (err) {
    throw RelayError.STORAGE_FAILED(path, err)
  }
}

function prepareStatements(db: Database.Database) {
  return {
    byId: db.prepare<[string], Row>('SELECT * FROM events WHERE id = ?'),
    byCoordinate: db.prepare<[string], Row>('SELECT * FROM events WHERE coordinate = ?'),
    insert: db.prepare(
      `INSERT INTO events (id, pubkey, kind, created_at, content, tags, sig, coordinate, expiration)
       VALUES (@id, @pubkey, @kind, @created_at, @content, @tags, @sig, @coordinate, @expiration)`
    ),
    insertTag: db.prepare('INSERT INTO tags (event, name, value, created_at) VALUES (?, ?, ?, ?)'),
    deleteEvent: db.prepare('DELETE FROM events WHERE seq = ?'),
    deleteTags: db.prepare('DELETE FROM tags WHERE event = ?'),
    tombstone: db.prepare('INSERT OR IGNORE INTO deleted_ids (id, pubkey) VALUES (?, ?)'),
    isTombstoned: db.prepare<[string, string], { id: string }>(
      'SELECT id FROM deleted_ids WHERE id = ? AND pubkey = ?'
    ),
    deleteCoordinate: db.prepare(
      `INSERT INTO deleted_coordinates (coordinate, until) VALUES (?, ?)
       ON CONFLICT (coordinate) DO UPDATE SET until = max(until, excluded.until)`
    ),
    coordinateDeletedUntil: db.prepare<[string], { until: number }>(
      'SELECT until FROM deleted_coordinates WHERE coordinate = ?'
    ),
    expired: db.prepare<[number], { seq: number }>(
      'SELECT seq FROM events WHERE expiration IS NOT NULL AND expiration <= ?'
    ),
    // Regular kinds only: replaceable and addressable events are an author's current state, and
    // a kind 5 must outlive what it deleted (its tombstones do anyway; the event says why).
    retired: db.prepare<[number], { seq: number }>(
      `SELECT seq FROM events WHERE created_at < ? AND coordinate IS NULL AND kind != ${EventDeletion}`
    ),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events')
  }
}

export interface PruneResult {
  expired: number
  retired: number
}

export class SqliteEventRepository extends EventRepository {
  readonly path: string
  private readonly db: Database.Database
  private readonly sql: ReturnType<typeof prepareStatements>
  private readonly maxLimit: number
  private readonly upsertTx: (event: Event) => boolean
  private readonly deleteTx: (deletion: Event) => void
  private readonly queries = new Map<string, Database.Statement<unknown[], Row>>()

  /** Opens (creating when absent) the database at `path`; ':memory:' keeps it in memory. */
  constructor(path: string, maxLimit: number) {
    super()
    this.path = path
    this.maxLimit = maxLimit
    this.db = openDatabase(path)
    this.sql = prepareStatements(this.db)
    this.upsertTx = this.db.transaction((event: Event) => this.store(event))
    this.deleteTx = this.db.transaction((deletion: Event) => {
      if (this.store(deletion)) this.applyDeletion(deletion)
    })
  }

  get size(): number {
    return this.sql.count.get()?.n ?? 0
  }

  isSearchSupported(): boolean {
    return false
  }

  upsert(event: Event): Promise<EventRepositoryUpsertResult> {
    try {
      return Promise.resolve({ isDuplicate: !this.upsertTx(event) })
    } catch (err) {
      return Promise.reject(RelayError.STORAGE_FAILED(this.path, err))
    }
  }

  // The core hands kind 5 here instead of to upsert: store it and apply it in one transaction.
  override deleteByDeletionRequest(event: Event): Promise<void> {
    try {
      this.deleteTx(event)
      return Promise.resolve()
    } catch (err) {
      return Promise.reject(RelayError.STORAGE_FAILED(this.path, err))
    }
  }

  /** Whether the event's author deleted it (NIP-09): publishing it again is refused. */
  isDeleted(event: Event): boolean {
    // A deletion of a deletion has no effect (NIP-09).
    if (event.kind === EventDeletion) return false
    if (this.sql.isTombstoned.get(event.id, event.pubkey)) return true
    const coordinate = coordinateOf(event)
    const until = coordinate === null ? undefined : this.sql.coordinateDeletedUntil.get(coordinate)?.until
    return until !== undefined && event.created_at <= until
  }

  find(filter: Filter): Event[] {
    const query = filterQuery(filter, Math.floor(Date.now() / 1000), this.maxLimit)
    if (query === null) return []
    return this.statement(query.sql)
      .all(...query.params)
      .map(toEvent)
  }

  /** Removes expired events and, with `retentionSeconds`, regular events older than that. */
  prune(nowSeconds: number, retentionSeconds: number | null): PruneResult {
    return this.db.transaction(() => {
      const expired = this.removeAll(this.sql.expired.all(nowSeconds))
      const retired =
        retentionSeconds === null ? 0 : this.removeAll(this.sql.retired.all(nowSeconds - retentionSeconds))
      return { expired, retired }
    })()
  }

  destroy(): Promise<void> {
    if (this.db.open) this.db.close()
    return Promise.resolve()
  }

  // A filter's SQL depends only on its shape, so a few statements serve every query.
  private statement(sql: string): Database.Statement<unknown[], Row> {
    let statement = this.queries.get(sql)
    if (statement) {
      this.queries.delete(sql)
    } else {
      statement = this.db.prepare<unknown[], Row>(sql)
      if (this.queries.size >= MAX_CACHED_QUERIES) this.queries.delete(this.queries.keys().next().value as string)
    }
    this.queries.set(sql, statement)
    return statement
  }

  /** Stores the event unless it is known, deleted or superseded; true when it was stored. */
  private store(event: Event): boolean {
    if (classifyKind(event.kind) === 'ephemeral' || this.sql.byId.get(event.id) || this.isDeleted(event)) return false
    const coordinate = coordinateOf(event)
    if (coordinate !== null) {
      const current = this.sql.byCoordinate.get(coordinate)
      if (current && !supersedes(event, current)) return false
      if (current) this.remove(current.seq)
    }
    const { lastInsertRowid } = this.sql.insert.run({
      ...event,
      tags: JSON.stringify(event.tags),
      coordinate,
      expiration: expirationOf(event)
    })
    for (const tag of event.tags) {
      if (SINGLE_LETTER.test(tag[0] ?? '') && typeof tag[1] === 'string') {
        this.sql.insertTag.run(lastInsertRowid, tag[0], tag[1], event.created_at)
      }
    }
    return true
  }

  private applyDeletion(deletion: Event): void {
    for (const [name, value] of deletion.tags) {
      if (typeof value !== 'string') continue
      if (name === 'e') {
        this.sql.tombstone.run(value, deletion.pubkey)
        const target = this.sql.byId.get(value)
        if (target && target.pubkey === deletion.pubkey && target.kind !== EventDeletion) this.remove(target.seq)
      } else if (name === 'a') {
        const coordinate = ownCoordinate(value, deletion.pubkey)
        if (coordinate === null) continue
        this.sql.deleteCoordinate.run(coordinate, deletion.created_at)
        const current = this.sql.byCoordinate.get(coordinate)
        if (current && current.created_at <= deletion.created_at) this.remove(current.seq)
      }
    }
  }

  private removeAll(rows: { seq: number }[]): number {
    for (const { seq } of rows) this.remove(seq)
    return rows.length
  }

  private remove(seq: number): void {
    this.sql.deleteTags.run(seq)
    this.sql.deleteEvent.run(seq)
  }
}

/** True when `a` should replace `b` under NIP-01 (newer, or same second and lower id). */
function supersedes(a: Event, b: { created_at: number; id: string }): boolean {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id)
}
