// Finding providers on Nostr: heartbeats say who is online now and with what capacity, handlers
// say who serves what. Every event is signature-checked (SimplePool does; this code checks the
// shape), and what it claims is bounded before use.

import { verifyEvent, type Event } from 'nostr-tools/pure'
import { NostrError } from './errors.js'
import { npubOf } from './identity.js'
import { PRESENCE_D_TAG } from './presence.js'
import type { RelayPool } from './pool.js'
import { kinds as KIND } from '@2020117/protocol'

export interface ProviderInfo {
  pubkey: string
  npub: string
  name: string
  kinds: number[]
  prices: Record<string, number>
  tickSeconds: number | null
  status: 'online' | 'offline' | 'unknown'
  capacity: number | null
  maxSessions: number | null
  sessions: number | null
  /** Unix seconds of the newest event seen. */
  lastSeen: number
  /** '' for a provider that sells jobs only (listed only with `jobsOnly`: it has nothing to dial). */
  swarmKey: string
  /** NIP-90 job prices in sats per job, by kind; empty when it sells no jobs. */
  jobPrices: Record<string, number>
}

const MAX_CONTENT = 64 * 1024

export async function findProviders(
  pool: RelayPool,
  opts: { kind?: number; maxAgeS?: number; authors?: string[]; jobsOnly?: boolean } = {}
): Promise<ProviderInfo[]> {
  if (pool.relays.length === 0) throw NostrError.NO_RELAYS()
  const since = Math.floor(Date.now() / 1000) - (opts.maxAgeS ?? 600)
  const base = {
    ...(opts.kind !== undefined ? { '#k': [String(opts.kind)] } : {}),
    ...(opts.authors ? { authors: opts.authors } : {})
  }
  const [beats, handlers] = await Promise.all([
    pool.query({ kinds: [KIND.Heartbeat], '#d': [PRESENCE_D_TAG], since, ...base }),
    pool.query({ kinds: [KIND.Handlerinformation], '#d': [PRESENCE_D_TAG], ...base })
  ])
  const byAuthor = new Map<string, ProviderInfo>()
  for (const e of newestPerAuthor(handlers)) {
    const info = parse(e)
    if (info) byAuthor.set(e.pubkey, info)
  }
  for (const e of newestPerAuthor(beats)) {
    const beat = parse(e)
    if (!beat) continue
    const known = byAuthor.get(e.pubkey)
    byAuthor.set(
      e.pubkey,
      known ? { ...known, ...pick(beat), lastSeen: Math.max(known.lastSeen, beat.lastSeen) } : beat
    )
  }
  const all = [...byAuthor.values()]
  return opts.jobsOnly ? all : all.filter((p) => p.swarmKey !== '')
}

/** The swarm key of one provider, from its newest heartbeat or handler. */
export async function resolveProvider(pool: RelayPool, pubkey: string): Promise<ProviderInfo> {
  const found = await findProviders(pool, { authors: [pubkey], maxAgeS: 30 * 24 * 3600 })
  const info = found.find((p) => p.pubkey === pubkey)
  if (!info) throw NostrError.PROVIDER_NOT_FOUND(npubOf(pubkey), pool.relays)
  return info
}

function newestPerAuthor(events: Event[]): Event[] {
  const newest = new Map<string, Event>()
  for (const e of events) {
    if (!verifyEvent(e)) continue
    const seen = newest.get(e.pubkey)
    if (!seen || e.created_at > seen.created_at) newest.set(e.pubkey, e)
  }
  return [...newest.values()]
}

function pick(p: ProviderInfo): Partial<ProviderInfo> {
  return {
    status: p.status,
    capacity: p.capacity,
    maxSessions: p.maxSessions,
    sessions: p.sessions,
    swarmKey: p.swarmKey,
    prices: p.prices,
    jobPrices: p.jobPrices,
    kinds: p.kinds
  }
}

function parse(e: Event): ProviderInfo | null {
  if (e.content.length > MAX_CONTENT) return null
  let c: Record<string, unknown>
  try {
    c = JSON.parse(e.content) as Record<string, unknown>
  } catch {
    return null
  }
  if (c === null || typeof c !== 'object') return null
  const jobPrices = priceTable(c.job_prices)
  const swarmKey = typeof c.hyperswarm === 'string' ? c.hyperswarm : e.tags.find((t) => t[0] === 'hyperswarm')?.[1]
  const dialable = swarmKey !== undefined && /^[0-9a-f]{64}$/.test(swarmKey)
  if (!dialable && (swarmKey !== undefined || Object.keys(jobPrices).length === 0)) return null
  const kinds = e.tags
    .filter((t) => t[0] === 'k' && /^\d{1,5}$/.test(t[1] ?? ''))
    .map((t) => Number(t[1]))
    .slice(0, 32)
  const prices = priceTable(c.prices)
  const num = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : null)
  const beat = e.kind === KIND.Heartbeat
  return {
    pubkey: e.pubkey,
    npub: npubOf(e.pubkey),
    name: typeof c.name === 'string' ? c.name.slice(0, 64) : '',
    kinds,
    prices,
    tickSeconds: num(c.tick_seconds),
    status: beat ? (c.status === 'online' ? 'online' : 'offline') : 'unknown',
    capacity: beat ? num(c.capacity) : null,
    maxSessions: beat ? num(c.max_sessions) : null,
    sessions: beat ? num(c.sessions) : null,
    lastSeen: e.created_at,
    swarmKey: dialable ? swarmKey : '',
    jobPrices
  }
}

/** `{ "kind": whole sats }`, at most 32 entries; anything else is dropped. */
function priceTable(value: unknown): Record<string, number> {
  const prices: Record<string, number> = {}
  if (!value || typeof value !== 'object') return prices
  for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, 32))
    if (/^\d{1,5}$/.test(k) && Number.isSafeInteger(v) && (v as number) >= 0) prices[k] = v as number
  return prices
}
