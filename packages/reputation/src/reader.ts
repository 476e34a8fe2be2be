// Reputations as one viewer sees them: its graph read once, then each subject's signals read from
// the relays and computed (SPEC §11). A subject whose signals cannot be read scores as a stranger
// (0, unflagged): an outage never invents a reputation.

import type { RelayPool } from '@2020117/nostr'
import type { Event } from 'nostr-tools'
import type { NetworkName } from '@2020117/wallet'
import { LnurlPubkeyCache } from '@2020117/zaps'
import { collectSubjects, collectViewer, collectZaps } from './collect.js'
import { buildGraph, computeReputation, lud16Of } from './compute.js'
import type { Graph, Rater, Reputation, SubjectEvents } from './types.js'

export interface ReaderOptions {
  pool: RelayPool
  /** The viewer's hex pubkey; null reads as an anonymous viewer with an empty graph. */
  viewer: string | null
  network: NetworkName
  lnurl?: LnurlPubkeyCache
  /** How long each relay query may wait. */
  maxWaitMs?: number
  /**
   * How long one subject's own LNURL read and its server's receipts may take (default 2000 ms).
   * The subject controls that server: past the bound its zaps count nothing, and it holds up no
   * other subject of the batch.
   */
  subjectWaitMs?: number
  onWarning?: (message: string) => void
}

const LNURL_TTL_MS = 10 * 60_000
const SUBJECT_WAIT_MS = 2000

export class ReputationReader implements Rater {
  private graph: Promise<Graph> | null = null
  private readonly lnurl: LnurlPubkeyCache
  /**
   * A profile's lud16 is a stranger's string: plain http to a loopback LNURL server is read only
   * when every relay is on loopback too (the local network), so that a profile on a public relay
   * can never make this machine call its own local services.
   */
  private readonly allowHttpLoopback: boolean

  constructor(private readonly o: ReaderOptions) {
    this.lnurl = o.lnurl ?? new LnurlPubkeyCache({ ttlMs: LNURL_TTL_MS })
    this.allowHttpLoopback = o.pool.relays.length > 0 && o.pool.relays.every(isLoopbackUrl)
  }

  viewerGraph(): Promise<Graph> {
    this.graph ??= collectViewer(this.o.pool, this.o.viewer, { maxWaitMs: this.o.maxWaitMs }).then((events) =>
      buildGraph(this.o.viewer, events)
    )
    return this.graph
  }

  async rate(pubkeys: string[]): Promise<Map<string, Reputation>> {
    const subjects = [...new Set(pubkeys)]
    const graph = await this.viewerGraph()
    const events = await collectSubjects(this.o.pool, subjects, graph, { maxWaitMs: this.o.maxWaitMs })
    const rated = await Promise.all(
      subjects.map(async (subject) => {
        const e = events.get(subject)
        if (!e) return null
        const { lnurlNostrPubkey, zaps } = await this.zapsOf(subject, e)
        return computeReputation({ ...e, zaps }, { subject, graph, lnurlNostrPubkey, network: this.o.network })
      })
    )
    return new Map(rated.filter((r): r is Reputation => r !== null).map((r) => [r.pubkey, r]))
  }

  /** The subject's LNURL key and the receipts to check against it, within the subject's own bound. */
  private async zapsOf(subject: string, e: SubjectEvents): Promise<{ lnurlNostrPubkey: string | null; zaps: Event[] }> {
    const waitMs = this.o.subjectWaitMs ?? SUBJECT_WAIT_MS
    const none = { lnurlNostrPubkey: null, zaps: [] }
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs)))
    const read = (async () => {
      // The read's own timeout is later than the subject's bound: the bound decides, and says so.
      const key = await this.lnurlKey(subject, lud16Of(subject, e.profiles), waitMs + 1000)
      return key === null ? none : { lnurlNostrPubkey: key, zaps: await this.serverReceipts(subject, key, e.zaps) }
    })()
    try {
      const got = await Promise.race([read, late])
      if (got !== null) return got
      this.o.onWarning?.(
        `no zap counts for ${subject.slice(0, 12)}…: its LNURL server did not answer within ${waitMs / 1000} s`
      )
      return none
    } finally {
      clearTimeout(timer)
    }
  }

  /** The receipts signed by the subject's LNURL server: asked apart, with those the open query found. */
  private async serverReceipts(subject: string, server: string, found: Event[]): Promise<Event[]> {
    const asked = await collectZaps(this.o.pool, subject, server, { maxWaitMs: this.o.maxWaitMs })
    const byId = new Map([...asked, ...found.filter((e) => e.pubkey === server)].map((e) => [e.id, e]))
    return [...byId.values()]
  }

  private async lnurlKey(subject: string, lud16: string | null, timeoutMs: number): Promise<string | null> {
    if (lud16 === null) return null
    if (!this.allowHttpLoopback && !strangerLnurlAllowed(lud16)) {
      this.o.onWarning?.(`no zap counts for ${subject.slice(0, 12)}…: its lud16 names a private or local host`)
      return null
    }
    try {
      return await this.lnurl.get(lud16, {
        timeoutMs,
        allowHttpLoopback: this.allowHttpLoopback
      })
    } catch (err) {
      this.o.onWarning?.(`no zap counts for ${subject.slice(0, 12)}…: ${(err as Error).message}`)
      return null
    }
  }
}

const PRIVATE_V4 = [
  /^127\./,
  /^10\./,
  /^172\.(1[6-9]|2\d|3[01])\./,
  /^192\.168\./,
  /^169\.254\./,
  /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./,
  /^0\./
]

/**
 * Whether a stranger's lud16 may be read on a public network: not a loopback, private, link-local
 * or carrier-grade address, not a bare or hex number (which resolvers read as an address), not
 * localhost, .local or .internal. A public name that resolves to a private address still passes:
 * the read is https only, follows no redirect and stops at 64 KiB, so it learns little.
 */
export function strangerLnurlAllowed(lud16: string): boolean {
  const m = /^[^@\s]+@(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(lud16)
  if (!m) return false
  const host = (m[1] as string).toLowerCase()
  if (host.startsWith('[')) {
    const v6 = host.slice(1, -1)
    return !(v6 === '::' || v6 === '::1' || /^f[cd]/.test(v6) || /^fe[89ab]/.test(v6) || v6.startsWith('::ffff:'))
  }
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.internal'))
    return false
  if (/^(0x[0-9a-f]+|\d+)$/.test(host)) return false
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return !PRIVATE_V4.some((r) => r.test(host))
  return host.includes('.')
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname
    return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  } catch {
    return false
  }
}
