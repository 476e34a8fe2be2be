// Reading a stranger's event: shape and bounds before anything is read, then the id and signature
// on a fresh copy of the seven fields. nostr-tools caches a verdict on the object under a symbol
// that a spread copy keeps, so an event verified once and changed after would still pass: the copy
// here is built field by field (tags too) and is what every later check reads.

import { MAX_SIGNAL_TAGS } from '@2020117/protocol'
import { verifyEvent, type Event } from 'nostr-tools/pure'

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

export function isPubkey(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value)
}

/** The verified copy of `event` when it is of `kind` with at most `maxTags` tags, else null. */
export function verified(event: unknown, kind: number, maxTags: number = MAX_SIGNAL_TAGS): Event | null {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return null
  const { id, pubkey, created_at, kind: k, tags, content, sig } = event as Record<string, unknown>
  if (k !== kind || typeof id !== 'string' || !HEX64.test(id) || !isPubkey(pubkey)) return null
  if (typeof sig !== 'string' || !HEX128.test(sig) || !Number.isSafeInteger(created_at)) return null
  if (typeof content !== 'string' || !Array.isArray(tags) || tags.length > maxTags) return null
  if (!tags.every((t) => Array.isArray(t) && t.length > 0 && t.every((v) => typeof v === 'string'))) return null
  const fresh = {
    id,
    pubkey,
    created_at: created_at as number,
    kind: k as number,
    tags: (tags as string[][]).map((t) => [...t]),
    content,
    sig
  }
  return verifyEvent(fresh) ? fresh : null
}

/** Each event of `events` that verifies as `kind`. */
export function verifiedAll(events: readonly unknown[], kind: number, maxTags?: number): Event[] {
  const out: Event[] = []
  for (const e of events) {
    const v = verified(e, kind, maxTags)
    if (v) out.push(v)
  }
  return out
}

/** The values of the tags named `name`. */
export function tagValues(event: Event, name: string): string[] {
  return event.tags.filter((t) => t[0] === name && t[1] !== undefined).map((t) => t[1] as string)
}

/** The value of the one tag named `name`, or null when there is none or more than one. */
export function single(event: Event, name: string): string | null {
  const values = event.tags.filter((t) => t[0] === name)
  return values.length === 1 ? (values[0]?.[1] ?? null) : null
}

/** NIP-01's order for replaceable events: the newest, and of two at one second the lowest id. */
export function newer(a: Event, b: Event): boolean {
  return a.created_at > b.created_at || (a.created_at === b.created_at && a.id < b.id)
}

/** Versions of one author's replaceable event tried, newest first, before it is taken as having none. */
const MAX_TRIES_PER_AUTHOR = 3

/**
 * The author's newest valid replaceable event of `kind`. Candidates are ordered by what they claim
 * before any is verified, so a flood of forged copies costs at most MAX_TRIES_PER_AUTHOR checks.
 */
export function newestValid(events: readonly unknown[], author: string, kind: number, maxTags?: number): Event | null {
  const claimed = events.filter((e): e is Record<string, unknown> => {
    if (e === null || typeof e !== 'object') return false
    const r = e as Record<string, unknown>
    return r.pubkey === author && r.kind === kind && Number.isSafeInteger(r.created_at) && typeof r.id === 'string'
  })
  claimed.sort(
    (a, b) => (b.created_at as number) - (a.created_at as number) || ((a.id as string) < (b.id as string) ? -1 : 1)
  )
  for (const c of claimed.slice(0, MAX_TRIES_PER_AUTHOR)) {
    const v = verified(c, kind, maxTags)
    if (v) return v
  }
  return null
}

/** The newest event per key (events whose key is null are dropped). */
export function newestBy(events: readonly Event[], key: (e: Event) => string | null): Map<string, Event> {
  const out = new Map<string, Event>()
  for (const e of events) {
    const k = key(e)
    if (k === null) continue
    const held = out.get(k)
    if (!held || newer(e, held)) out.set(k, e)
  }
  return out
}
