// The reading side's fetch (SPEC §11): what the relays hold about the viewer's graph and about each
// subject, bounded and sorted into buckets, and nothing checked beyond the pool's signature check
// (computeReputation checks every signal). A relay that fails or stays silent costs its own answer
// only: every query ends within maxWaitMs and a failed one counts as an empty answer.
//
// Relay limits this is shaped by (the devnet relay, @nostr-relay/core with our own store, and
// common public relays): every single-letter tag filter (#d #p #L #a #e) is matched; at most 10
// filters per REQ (each query here sends one); at most 20 open subscriptions per connection (so at
// most QUERY_CONCURRENCY queries run at once, leaving room for the pool owner's own
// subscriptions); at most 500 events per filter whatever `limit` asks (public relays cap at 100 to
// 5000); messages up to 128 KiB (200 hex keys are 13 KiB). A relay's cap means that one filter
// over many subjects could be filled by the one subject strangers flood: an answer that may have
// been cut (FULL_PAGE) is asked again per subject, and the in-graph authors are asked separately,
// so that sybils outside the graph cannot crowd out the signals that weigh.

import type { Event, Filter } from 'nostr-tools'
import type { RelayPool } from '@2020117/nostr'
import { kinds, MAX_FOLLOWS, MAX_SIGNAL_EVENTS, MAX_SIGNAL_TAGS, TRUST_LABEL_NAMESPACE } from '@2020117/protocol'
import type { Graph, SubjectEvents, ViewerEvents } from './types.js'

export interface CollectOptions {
  /** How long each relay query may wait. */
  maxWaitMs?: number
  /** Told when a query failed; the collection goes on with the other answers. */
  onWarning?: (message: string) => void
}

/** Subjects per `#p`/`#d`/authors filter. */
const SUBJECT_CHUNK = 100
/** Authors per filter (follows' contact lists, in-graph signals, deletions). */
const AUTHOR_CHUNK = 200
/** Queries in flight at once: each is a subscription on every relay of the pool. */
const QUERY_CONCURRENCY = 6
/** A merged answer this long may have been cut by a relay's own cap: it is asked again per key. */
const FULL_PAGE = 100
/** What each query waits for when the caller names no maxWaitMs (the pool's own default). */
const DEFAULT_WAIT_MS = 4000

const HEX64 = /^[0-9a-f]{64}$/

/** One query over a set of keys (subjects or authors), asked again per key when its answer may be cut. */
interface Ask {
  keys: string[]
  filter: (keys: string[]) => Filter
  /** Not asked again per key when cut: strangers' keys, which could make one read thousands of queries. */
  once?: boolean
}

interface Run {
  pool: RelayPool
  opts: CollectOptions
  slot: <T>(task: () => Promise<T>) => Promise<T>
}

type Category = keyof SubjectEvents

export async function collectViewer(
  pool: RelayPool,
  viewer: string | null,
  opts: CollectOptions = {}
): Promise<ViewerEvents> {
  if (viewer === null || !HEX64.test(viewer)) return { contacts: [], serviceLists: [] }
  const run = startRun(pool, opts)
  const own = await query(run, { kinds: [kinds.Contacts, kinds.TrustedServiceList], authors: [viewer], limit: 20 })
  const mine = newestPerAuthorAndKind(own.filter((e) => e.pubkey === viewer))
  const contacts = mine.filter((e) => e.kind === kinds.Contacts)
  const serviceLists = mine.filter((e) => e.kind === kinds.TrustedServiceList)
  const follows = followsOf(viewer, contacts[0])
  const theirs = await Promise.all(
    chunks(follows, AUTHOR_CHUNK).map((authors) =>
      query(run, { kinds: [kinds.Contacts], authors, limit: authors.length })
    )
  )
  const wanted = new Set(follows)
  const followContacts = newestPerAuthorAndKind(theirs.flat().filter((e) => wanted.has(e.pubkey)))
  return { contacts: [...contacts, ...followContacts.filter((e) => e.kind === kinds.Contacts)], serviceLists }
}

/** The `p` tags of a contact list that are keys, once each, the viewer left out, at most MAX_FOLLOWS. */
function followsOf(viewer: string, contacts: Event | undefined): string[] {
  const follows = new Set<string>()
  for (const tag of contacts?.tags ?? []) {
    if (follows.size >= MAX_FOLLOWS) break
    if (tag[0] === 'p' && typeof tag[1] === 'string' && HEX64.test(tag[1]) && tag[1] !== viewer) follows.add(tag[1])
  }
  return [...follows]
}

export async function collectSubjects(
  pool: RelayPool,
  subjects: string[],
  graph: Graph,
  opts: CollectOptions = {}
): Promise<Map<string, SubjectEvents>> {
  const run = startRun(pool, opts)
  const asked = [...new Set(subjects)].filter((s) => HEX64.test(s))
  const buckets = partition(asked, await gather(run, signalAsks(asked, graph)))
  for (const bucket of buckets.values()) trim(bucket, graph)
  const authors = new Set([...buckets.values()].flatMap((b) => [...b.declarations, ...b.reports].map((e) => e.pubkey)))
  const deletions = await gather(run, deletionAsks([...authors], graph))
  for (const bucket of buckets.values()) {
    const theirs = new Set([...bucket.declarations, ...bucket.reports].map((e) => e.pubkey))
    bucket.deletions = newest(
      deletions.filter((e) => theirs.has(e.pubkey)),
      graph
    )
  }
  return new Map(subjects.map((s) => [s, buckets.get(s) ?? emptyEvents()]))
}

/**
 * The receipts `server` (the subject's LNURL server) signed for `subject`: the only ones that can
 * count, asked by author, because receipts anyone else signs cost nothing and would fill the
 * relays' answer to the open `#p` query, newest first, in place of the real ones.
 */
export async function collectZaps(
  pool: RelayPool,
  subject: string,
  server: string,
  opts: CollectOptions = {}
): Promise<Event[]> {
  if (!HEX64.test(subject) || !HEX64.test(server)) return []
  const run = startRun(pool, opts)
  const receipts = await query(run, {
    kinds: [kinds.Zap],
    authors: [server],
    '#p': [subject],
    limit: MAX_SIGNAL_EVENTS
  })
  return receipts.filter((e) => e.pubkey === server).slice(0, MAX_SIGNAL_EVENTS)
}

function signalAsks(subjects: string[], graph: Graph): Ask[] {
  const asks: Ask[] = []
  for (const keys of chunks(subjects, SUBJECT_CHUNK)) {
    const ask = (filter: (keys: string[]) => Filter) => asks.push({ keys, filter })
    ask((k) => ({ kinds: [kinds.Metadata], authors: k }))
    ask((k) => ({ kinds: [kinds.Zap], '#p': k }))
    ask((k) => ({ kinds: [kinds.Review], '#p': k }))
    ask((k) => ({ kinds: [kinds.TrustAssertion], '#d': k }))
    ask((k) => ({ kinds: [kinds.TrustAssertion], '#p': k }))
    ask((k) => ({ kinds: [kinds.Label], '#L': [TRUST_LABEL_NAMESPACE], '#p': k }))
    ask((k) => ({ kinds: [kinds.Report], '#p': k }))
    // What the graph says weighs; asked apart, so that strangers' floods cannot push it out.
    for (const authors of chunks([...graph.members], AUTHOR_CHUNK)) {
      ask((k) => ({ kinds: [kinds.Report, kinds.Label, kinds.TrustAssertion, kinds.Review], authors, '#p': k }))
    }
    for (const authors of chunks([...graph.services], AUTHOR_CHUNK)) {
      ask((k) => ({ kinds: [kinds.TrustAssertion], authors, '#d': k }))
    }
  }
  return asks
}

/**
 * A deletion revokes only its own author's events, and only the graph's weigh: the graph's authors
 * are asked again one by one when an answer may be cut, strangers' are asked once per chunk.
 */
function deletionAsks(authors: string[], graph: Graph): Ask[] {
  const ours = authors.filter((a) => graph.members.has(a))
  const theirs = authors.filter((a) => !graph.members.has(a))
  const asks = (keys: string[], once: boolean): Ask[] =>
    chunks(keys, AUTHOR_CHUNK).map((chunk) => ({
      keys: chunk,
      once,
      filter: (k) => ({ kinds: [kinds.Deletion], authors: k })
    }))
  return [...asks(ours, false), ...asks(theirs, true)]
}

/** Every ask's answer, deduplicated by id, without events above MAX_SIGNAL_TAGS tags. */
async function gather(run: Run, asks: Ask[]): Promise<Event[]> {
  const answers = await Promise.all(asks.map((ask) => askFairly(run, ask)))
  const byId = new Map<string, Event>()
  for (const event of answers.flat()) {
    if (event.tags.length <= MAX_SIGNAL_TAGS) byId.set(event.id, event)
  }
  return [...byId.values()]
}

async function askFairly(run: Run, ask: Ask): Promise<Event[]> {
  const events = await query(run, { ...ask.filter(ask.keys), limit: MAX_SIGNAL_EVENTS })
  if (events.length < FULL_PAGE || ask.keys.length === 1 || ask.once) return events
  const each = await Promise.all(ask.keys.map((key) => query(run, { ...ask.filter([key]), limit: MAX_SIGNAL_EVENTS })))
  return [...events, ...each.flat()]
}

/** Each event to every subject asked that it names where its kind names a subject. */
function partition(subjects: string[], events: Event[]): Map<string, SubjectEvents> {
  const buckets = new Map(subjects.map((s) => [s, emptyEvents()]))
  for (const event of events) {
    const category = categoryOf(event)
    if (category === null) continue
    for (const subject of namedBy(event, category)) buckets.get(subject)?.[category].push(event)
  }
  return buckets
}

function categoryOf(event: Event): Category | null {
  switch (event.kind) {
    case kinds.Metadata:
      return 'profiles'
    case kinds.Zap:
      return 'zaps'
    case kinds.Review:
      return 'reviews'
    case kinds.TrustAssertion:
      return 'declarations'
    case kinds.Label:
      // A label in another namespace says nothing about trust.
      return tagValues(event, 'L').includes(TRUST_LABEL_NAMESPACE) ? 'declarations' : null
    case kinds.Report:
      return 'reports'
    default:
      return null
  }
}

function namedBy(event: Event, category: Category): string[] {
  if (category === 'profiles') return [event.pubkey]
  const named = tagValues(event, 'p')
  if (event.kind === kinds.TrustAssertion) named.push(...tagValues(event, 'd'))
  return [...new Set(named)]
}

function tagValues(event: Event, name: string): string[] {
  return event.tags.flatMap((tag) => (tag[0] === name && typeof tag[1] === 'string' ? [tag[1]] : []))
}

function trim(bucket: SubjectEvents, graph: Graph): void {
  for (const category of Object.keys(bucket) as Category[]) bucket[category] = newest(bucket[category], graph)
}

/**
 * At most MAX_SIGNAL_EVENTS, newest first (created_at, then the lower id, as NIP-01 replaces). The
 * graph's own events are kept before anyone else's: sybils that publish more, all newer, must not
 * push out what the graph says (its reports, vouches, reviews, revocations) after it was asked apart.
 */
function newest(events: Event[], graph: Graph): Event[] {
  const sorted = [...events].sort(newestFirst)
  if (sorted.length <= MAX_SIGNAL_EVENTS) return sorted
  const ours = sorted.filter((e) => graph.members.has(e.pubkey)).slice(0, MAX_SIGNAL_EVENTS)
  const kept = new Set([...ours, ...sorted.filter((e) => !graph.members.has(e.pubkey))].slice(0, MAX_SIGNAL_EVENTS))
  return sorted.filter((e) => kept.has(e))
}

function newestFirst(a: Event, b: Event): number {
  return b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** A relay may hold older versions of a replaceable event: only the newest per author and kind is kept. */
function newestPerAuthorAndKind(events: Event[]): Event[] {
  const kept = new Map<string, Event>()
  for (const event of [...events].sort(newestFirst)) {
    const key = `${event.kind}:${event.pubkey}`
    if (!kept.has(key)) kept.set(key, event)
  }
  return [...kept.values()]
}

function emptyEvents(): SubjectEvents {
  return { profiles: [], zaps: [], reviews: [], declarations: [], reports: [], deletions: [] }
}

function startRun(pool: RelayPool, opts: CollectOptions): Run {
  return { pool, opts, slot: limiter(QUERY_CONCURRENCY) }
}

/**
 * One query, as a subscription closed at the relays' EOSE or after maxWaitMs, whichever is first,
 * with what arrived by then: a relay that never answers costs its own events only (the pool's
 * query would wait for its connection timeout, then hand over nothing from anyone). A relay that
 * ignores `limit` is cut off at limit × relays events; a failure is an empty answer, never a throw.
 */
function query(run: Run, filter: Filter): Promise<Event[]> {
  const cap = (filter.limit ?? MAX_SIGNAL_EVENTS) * Math.max(1, run.pool.relays.length)
  return run.slot(
    () =>
      new Promise<Event[]>((resolve) => {
        const events: Event[] = []
        let sub: { close(): void } | null = null
        let done = false
        const finish = () => {
          if (done) return
          done = true
          clearTimeout(timer)
          sub?.close()
          resolve(events)
        }
        const timer = setTimeout(finish, run.opts.maxWaitMs ?? DEFAULT_WAIT_MS)
        try {
          const s = run.pool.subscribe(filter, (event) => {
            if (!done && events.length < cap) events.push(event)
          })
          sub = s
          s.ready.then(finish, finish)
        } catch (err) {
          run.opts.onWarning?.(`a relay query failed, read as empty: ${(err as Error).message}`)
          finish()
        }
      })
  )
}

function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (task) => {
    while (active >= max) await new Promise<void>((resolve) => waiting.push(resolve))
    active++
    try {
      return await task()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
