// --list: the providers online on the relays, whether each answers on the DHT, and its reputation,
// ranked best first by price against score (rankProviders, the same as choosing); those --min-score
// or a flag set aside come after, with the reason, never silently dropped.

import { peerText, snakeKeys, type Logger } from '@2020117/cli'
import { findProviders, NostrError, RelayPool, type ProviderInfo } from '@2020117/nostr'
import { rankProviders, type Reputation, type SkipReason } from '@2020117/reputation'
import { PeerSwarm } from '@2020117/swarm'
import { rateProviders, scoreText, type RatingContext, type RatingRules } from './reputation.js'

export interface ListOptions {
  kind: number
  json: boolean
  bootstrap: Array<{ host: string; port: number }> | null
  log: Logger
  rating: RatingContext
  rules: RatingRules
}

interface Row {
  /** 1 for the best; null for a provider set aside. */
  rank: number | null
  skip_reason: SkipReason | null
  npub: string
  pubkey: string
  name: string
  kinds: number[]
  sats_per_minute: number | null
  sats_per_job: number | null
  /** The price ranked (a minute of session, or a job for a jobs-only provider), divided by the score's factor. */
  effective_price_msat: number | null
  score: number
  flagged: boolean
  capacity: number | null
  max_sessions: number | null
  last_seen: string
  reachable: boolean
  swarm_key: string | null
  /** Every term of the reputation (snake_case), or null when it could not be read. */
  reputation: unknown
}

export async function listProviders(o: ListOptions): Promise<number> {
  const { relays } = o.rating
  if (relays.length === 0) throw NostrError.NO_RELAYS('listing providers (--list)')
  const providers = await onlineProviders(relays, o.kind)
  const [reachable, reputations] = await Promise.all([
    reachability(providers, o.bootstrap),
    rateProviders(
      providers.map((p) => p.pubkey),
      o.rating
    )
  ])
  const rows = rankedRows(providers, reachable, reputations, o)
  if (o.json) process.stdout.write(JSON.stringify({ providers: rows }) + '\n')
  else if (rows.length === 0) o.log.info(`no providers of kind ${o.kind} online on ${relays.join(', ')}`)
  else for (const r of rows) process.stdout.write(rowText(r) + '\n')
  return 0
}

async function onlineProviders(relays: string[], kind: number): Promise<ProviderInfo[]> {
  const pool = new RelayPool(relays)
  try {
    return (await findProviders(pool, { kind, maxAgeS: 600, jobsOnly: true })).filter((p) => p.status === 'online')
  } finally {
    pool.close()
  }
}

/** A provider that sells jobs only has no swarm key: nothing to dial, so it is not `reachable`. */
async function reachability(
  providers: ProviderInfo[],
  bootstrap: Array<{ host: string; port: number }> | null
): Promise<Map<ProviderInfo, boolean>> {
  const swarm = new PeerSwarm({ network: { bootstrap } })
  const reachable = await Promise.all(
    providers.map((p) =>
      p.swarmKey === ''
        ? false
        : swarm.connectTo(Buffer.from(p.swarmKey, 'hex'), 5000).then(
            () => true,
            () => false
          )
    )
  )
  await swarm.destroy(500)
  return new Map(providers.map((p, i) => [p, reachable[i] as boolean]))
}

/** The ranked price: a minute of session, or a job for a provider that sells jobs only. */
function priceMsat(p: ProviderInfo, kind: number): number {
  const perMinute = p.prices[String(kind)]
  const perJob = p.jobPrices[String(kind)]
  const sats = p.swarmKey === '' ? (perJob ?? perMinute) : (perMinute ?? perJob)
  return sats === undefined ? Infinity : sats * 1000
}

function rankedRows(
  providers: ProviderInfo[],
  reachable: Map<ProviderInfo, boolean>,
  reputations: Map<string, Reputation>,
  o: ListOptions
): Row[] {
  const ranking = rankProviders(
    providers.map((p) => ({ pubkey: p.pubkey, priceMsat: priceMsat(p, o.kind), info: p })),
    reputations,
    o.rules
  )
  const row = (r: (typeof ranking.eligible)[number], rank: number | null, reason: SkipReason | null): Row => {
    const p = r.item.info
    return {
      rank,
      skip_reason: reason,
      npub: p.npub,
      pubkey: p.pubkey,
      name: peerText(p.name, 64),
      kinds: p.kinds,
      sats_per_minute: p.prices[String(o.kind)] ?? null,
      sats_per_job: p.jobPrices[String(o.kind)] ?? null,
      effective_price_msat: Number.isFinite(r.effectivePriceMsat) ? Math.round(r.effectivePriceMsat) : null,
      score: r.score,
      flagged: r.reputation?.flagged ?? false,
      capacity: p.capacity,
      max_sessions: p.maxSessions,
      last_seen: new Date(p.lastSeen * 1000).toISOString(),
      reachable: reachable.get(p) ?? false,
      swarm_key: p.swarmKey || null,
      reputation: r.reputation ? snakeKeys(r.reputation) : null
    }
  }
  return [...ranking.eligible.map((r, i) => row(r, i + 1, null)), ...ranking.skipped.map((r) => row(r, null, r.reason))]
}

/** Numbers first (rank, score, prices), the provider's own name in the middle, padded and stripped. */
function rowText(r: Row): string {
  const rank = r.rank === null ? `skipped ${r.skip_reason}` : `#${r.rank}`
  const score = scoreText(r.score, r.flagged)
  const where = r.swarm_key === null ? 'jobs only' : r.reachable ? 'reachable' : 'unreachable'
  return `${rank.padEnd(18)} ${score.padEnd(20)} ${r.npub}  ${(r.name || '-').padEnd(20)} kinds ${r.kinds.join(',').padEnd(10)} ${r.sats_per_minute ?? '-'} sats/min  ${r.sats_per_job ?? '-'} sats/job  capacity ${r.capacity ?? '?'}/${r.max_sessions ?? '?'}  seen ${r.last_seen}  ${where}`
}
