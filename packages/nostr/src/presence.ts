// A provider's presence on Nostr: its profile (kind 0), its NIP-89 handler (kind 31990) naming the
// kinds it serves, its prices and its Hyperswarm key, and a heartbeat (kind 30333, a 2020117 kind)
// every minute with its capacity, then a last one saying offline. Session prices are sats per
// minute (`prices`), job prices sats per job (`job_prices`); a kind may have both, and a provider
// that rents no sessions has no swarm key. When a relay comes back after
// dropping (a persistent pool says so), all three go to it again: a relay restarted with empty
// storage would otherwise hold only the next heartbeat, and a heartbeat alone names no prices.
//
// Relays may price kinds in proof of work (SPEC §12: the profile costs 20 bits by default). The
// pool mines in a worker; the profile is published in the background, so that neither start() nor
// a heartbeat waits for it, and a profile that could not be mined in time is tried again at the
// next heartbeat.

import { finalizeEvent, getPublicKey, type Event } from 'nostr-tools/pure'
import type { Published, RelayPool } from './pool.js'
import { printable } from './errors.js'
import { kinds as KIND } from '@2020117/protocol'

export const PRESENCE_D_TAG = '2020117'
const MAX_PROFILE_BACKOFF_BEATS = 32
/** Marks events this software wrote, so a profile the user keeps elsewhere is never overwritten. */
const CLIENT_TAG = ['client', '2020117']

export interface PresenceInfo {
  name: string
  about: string
  lud16: string | null
  /** The session kinds (rented by the minute over Hyperswarm). */
  kinds: number[]
  satsPerMinute: number
  tickSeconds: number
  manifest: Record<string, unknown>
  /** null: this provider rents no sessions. */
  swarmKey: string | null
  /** NIP-90 job kinds and their price in sats per job; empty when it sells no jobs. */
  jobPrices?: Record<string, number>
}

/** Every kind served, sessions' and jobs', once each, as `k` tags. */
function kindTags(info: PresenceInfo): string[][] {
  const kinds = new Set([...info.kinds.map(String), ...Object.keys(info.jobPrices ?? {})])
  return [...kinds].map((k) => ['k', k])
}

function swarmTags(info: PresenceInfo): string[][] {
  return info.swarmKey ? [['hyperswarm', info.swarmKey]] : []
}

export interface Load {
  capacity: number
  maxSessions: number
  sessions: number
}

export interface PresenceOptions {
  pool: RelayPool
  secretKey: Uint8Array
  info: PresenceInfo
  load: () => Load
  intervalMs?: number
  log?: (msg: string, fields?: Record<string, unknown>) => void
}

export class Presence {
  readonly pubkey: string
  private readonly opts: PresenceOptions
  private timer: NodeJS.Timeout | null = null
  private readonly lastCreatedAt = new Map<number, number>()
  private readonly log: NonNullable<PresenceOptions['log']>
  private readonly onreconnect = (url: string) => void this.republish(url)
  /** The profile's publication in flight (or the last one); due again after a failure. */
  private profileRun: Promise<number> = Promise.resolve(0)
  private profileInFlight = false
  private profileDue = false
  /** Failures in a row, and heartbeats to let pass before the next try: 1, 2, 4 … 32 (backoff). */
  private profileFailures = 0
  private beatsUntilProfile = 0
  /** After stop(), a profile still being mined is dropped without a word (the pool's close ends it). */
  private stopped = false

  constructor(opts: PresenceOptions) {
    this.opts = opts
    this.pubkey = getPublicKey(opts.secretKey)
    this.log = opts.log ?? (() => {})
  }

  async start(): Promise<void> {
    this.opts.pool.on('reconnect', this.onreconnect)
    this.startProfile()
    await this.publish(this.handler(), 'handler')
    await this.heartbeat('online')
    this.timer = setInterval(() => this.beat(), this.opts.intervalMs ?? 60_000)
    this.timer.unref()
  }

  /** Resolves when the profile publication started last has ended: with how many relays hold it. */
  get profile(): Promise<number> {
    return this.profileRun
  }

  private beat(): void {
    void this.heartbeat('online')
    // A relay that prices the profile beyond what we can mine is not asked every minute for ever.
    if (this.profileDue && --this.beatsUntilProfile <= 0) this.startProfile()
  }

  private profileFailed(): void {
    this.profileDue = true
    this.profileFailures++
    this.beatsUntilProfile = Math.min(2 ** (this.profileFailures - 1), MAX_PROFILE_BACKOFF_BEATS)
  }

  /** Publishes the profile in the background, once at a time; a failure makes it due again. */
  private startProfile(only?: string[]): Promise<number> {
    if (this.profileInFlight) return this.profileRun
    this.profileInFlight = true
    this.profileDue = false
    this.profileRun = this.publishProfile(only).then(
      (accepted) => {
        this.profileInFlight = false
        if (accepted > 0 && !only) this.profileFailures = 0
        if (accepted === 0 && !only && !this.stopped) {
          this.profileFailed()
          this.log(`the profile is tried again in ${this.beatsUntilProfile} heartbeat(s)`)
        }
        return accepted
      },
      (err: Error) => {
        // Only the query can throw here (publish reports its failures): the profile is due again.
        this.profileInFlight = false
        this.profileFailed()
        this.log(
          `the profile was not published (${err.message}); trying again in ${this.beatsUntilProfile} heartbeat(s)`
        )
        return 0
      }
    )
    return this.profileRun
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.opts.pool.off('reconnect', this.onreconnect)
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.heartbeat('offline')
  }

  /** Publishes profile, handler and heartbeat to one relay that came back. */
  private async republish(url: string): Promise<void> {
    const only = [url]
    const accepted = [
      await this.startProfile(only),
      await this.publish(this.handler(), 'handler', only),
      await this.heartbeat('online', only)
    ]
    if (this.timer === null) return
    const fields = { relay: url }
    if (accepted.every((n) => n > 0))
      this.log(`relay ${url} is back: published the profile, handler and heartbeat again`, fields)
    else this.log(`relay ${url} is back but refused part of the presence; the next heartbeat tries again`, fields)
  }

  heartbeat(status: 'online' | 'offline', only?: string[]): Promise<number> {
    const { info } = this.opts
    const load = status === 'online' ? this.opts.load() : { ...this.opts.load(), capacity: 0, sessions: 0 }
    const prices = Object.fromEntries(info.kinds.map((k) => [String(k), info.satsPerMinute]))
    return this.publish(
      this.sign(
        KIND.Heartbeat,
        JSON.stringify({
          status,
          capacity: load.capacity,
          max_sessions: load.maxSessions,
          sessions: load.sessions,
          prices,
          job_prices: info.jobPrices ?? {},
          tick_seconds: info.tickSeconds,
          ...(info.swarmKey ? { hyperswarm: info.swarmKey } : {})
        }),
        [
          ['d', PRESENCE_D_TAG],
          ['status', status],
          ['capacity', String(load.capacity)],
          ['sessions', String(load.sessions)],
          ...swarmTags(info),
          ...kindTags(info),
          ...info.kinds.map((k) => ['price', String(k), String(info.satsPerMinute)]),
          ...Object.entries(info.jobPrices ?? {}).map(([k, sats]) => ['job_price', k, String(sats)])
        ]
      ),
      `heartbeat ${status}`,
      only
    )
  }

  private handler(): Event {
    const { info } = this.opts
    const content = {
      name: info.name,
      about: info.about,
      ...(info.lud16 ? { lud16: info.lud16 } : {}),
      manifest: info.manifest,
      prices: Object.fromEntries(info.kinds.map((k) => [String(k), info.satsPerMinute])),
      job_prices: info.jobPrices ?? {},
      tick_seconds: info.tickSeconds,
      ...(info.swarmKey ? { hyperswarm: info.swarmKey } : {})
    }
    return this.sign(KIND.Handlerinformation, JSON.stringify(content), [
      ['d', PRESENCE_D_TAG],
      ...swarmTags(info),
      ...kindTags(info)
    ])
  }

  /**
   * Publishes kind 0 unless the relays hold a profile someone else wrote, which is kept. Resolves
   * with how many relays hold ours (1 when one is kept or already current).
   */
  private async publishProfile(only?: string[]): Promise<number> {
    const { info, pool } = this.opts
    const existing = (await pool.query({ kinds: [KIND.Metadata], authors: [this.pubkey] })).sort(
      (a, b) => b.created_at - a.created_at
    )[0]
    const content = JSON.stringify({ name: info.name, about: info.about, ...(info.lud16 ? { lud16: info.lud16 } : {}) })
    if (existing && !existing.tags.some((t) => t[0] === CLIENT_TAG[0] && t[1] === CLIENT_TAG[1])) {
      this.log('keeping the profile already on the relays')
      return 1
    }
    if (existing?.content === content && !only) return 1
    return this.publish(this.sign(KIND.Metadata, content, []), 'profile', only)
  }

  /**
   * Replaceable events of one kind must be strictly newer than the last: on a tie in created_at a
   * relay keeps the lowest id, so an offline heartbeat in the same second could be dropped.
   */
  private sign(kind: number, content: string, tags: string[][]): Event {
    const created_at = Math.max(Math.floor(Date.now() / 1000), (this.lastCreatedAt.get(kind) ?? 0) + 1)
    this.lastCreatedAt.set(kind, created_at)
    return finalizeEvent({ kind, created_at, tags: [...tags, CLIENT_TAG], content }, this.opts.secretKey)
  }

  /**
   * Through the pool's proof of work: the heartbeat and handler are free under the defaults and go
   * as signed; the profile is mined (with a new created_at) when a relay prices it.
   */
  private async publish(event: Event, what: string, only?: string[]): Promise<number> {
    const pool = this.opts.pool
    let published: Published
    try {
      published = await pool.publishWithPow(event, only ? { only } : {})
    } catch (err) {
      if (this.stopped && what === 'profile') return 0
      // POW_TOO_SLOW or POW_REFUSED: its message says which relay wants what, and what to do.
      this.log(`the ${what} was not published: ${(err as Error).message}`, { relays: pool.relays.length })
      return 0
    }
    const { accepted, refused } = published
    if (accepted.length === 0)
      this.log(`no relay accepted the ${what}`, {
        relays: pool.relays.length,
        ...(refused[0] ? { reason: printable(refused[0].reason, 200) } : {})
      })
    return accepted.length
  }
}
