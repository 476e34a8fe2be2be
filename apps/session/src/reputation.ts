// Reputations for listing and choosing providers (SPEC §11, @2020117/reputation), as the customer's
// own key sees them. Reading them is bounded in time and never in the way: a relay that fails or
// is slow leaves every provider at score 0 with a warning, and the session goes on.

import { peerText, type Logger } from '@2020117/cli'
import { RelayPool } from '@2020117/nostr'
import { ReputationReader, type Ranking, type Reputation } from '@2020117/reputation'
import { NETWORK_NAMES, NwcWallet, type NetworkName } from '@2020117/wallet'
import { SessionCliError } from './errors.js'

/** How long one relay query (or LNURL read) of the reader may wait. */
const QUERY_WAIT_MS = 2500
/** The most reading all reputations may take, start to end. */
export const RATING_DEADLINE_MS = 5000
const HEX64 = /^[0-9a-f]{64}$/

export interface RatingContext {
  relays: string[]
  /** The customer's hex pubkey: its follows are the graph the signals are weighed in. */
  viewer: string
  /** Proofs of payment on another network (play money) count as nothing. */
  network: NetworkName
  log: Logger
}

export interface RatingRules {
  minScore?: number
  allowFlagged?: boolean
}

/** Reputations of the proven pubkeys among `pubkeys`; an unproven ('') or unread one is missing (scores 0). */
export async function rateProviders(pubkeys: string[], ctx: RatingContext): Promise<Map<string, Reputation>> {
  const wanted = [...new Set(pubkeys.filter((p) => HEX64.test(p)))]
  if (wanted.length === 0) return new Map()
  if (ctx.relays.length === 0) {
    ctx.log.warn('no relays to read reputations from: every provider scores 0')
    return new Map()
  }
  const pool = new RelayPool(ctx.relays)
  const reader = new ReputationReader({
    pool,
    viewer: ctx.viewer,
    network: ctx.network,
    maxWaitMs: QUERY_WAIT_MS,
    onWarning: (m) => ctx.log.warn(peerText(m, 300))
  })
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), RATING_DEADLINE_MS)))
  const rating = reader.rate(wanted)
  rating.catch(() => {}) // past the deadline nobody waits for it
  try {
    const rated = await Promise.race([rating, late])
    if (rated === null)
      ctx.log.warn(`reputations not read within ${RATING_DEADLINE_MS / 1000} s: every provider scores 0`)
    else ctx.log.debug('reputations read', { providers: rated.size })
    return rated ?? new Map()
  } catch (err) {
    ctx.log.warn(`reputations could not be read (${peerText((err as Error).message, 200)}): every provider scores 0`)
    return new Map()
  } finally {
    clearTimeout(timer)
    pool.close()
  }
}

/** The network proofs must be on: the wallet's when it says one, else the bin's (--network, --devnet). */
export async function walletNetwork(wallet: NwcWallet | null, fallback: NetworkName): Promise<NetworkName> {
  if (!wallet) return fallback
  try {
    const info = await wallet.info()
    const said = info.network === 'mainnet' ? 'bitcoin' : info.network
    return said && (NETWORK_NAMES as string[]).includes(said) ? (said as NetworkName) : fallback
  } catch {
    return fallback
  }
}

/** --list holds no wallet: one is opened only to ask its network, for a few seconds at most. */
export async function networkOfUri(uri: string | undefined, fallback: NetworkName): Promise<NetworkName> {
  if (!uri) return fallback
  let wallet: NwcWallet | null = null
  let timer: NodeJS.Timeout | undefined
  try {
    wallet = await NwcWallet.connect(uri)
    const late = new Promise<NetworkName>((resolve) => (timer = setTimeout(() => resolve(fallback), QUERY_WAIT_MS)))
    return await Promise.race([walletNetwork(wallet, fallback), late])
  } catch {
    return fallback
  } finally {
    clearTimeout(timer)
    wallet?.close()
  }
}

/** The score as printed: one decimal at most, and FLAGGED beside it when flagged. */
export function scoreText(score: number, flagged: boolean): string {
  const text = `score ${Math.round(score * 10) / 10}`
  return flagged ? `${text} FLAGGED` : text
}

/** The error that says why nobody qualified and which flag would change it. */
export function nobodyQualifies<T>(ranking: Ranking<T>, rules: RatingRules): Error {
  const flagged = ranking.skipped.filter((s) => s.reason === 'FLAGGED').length
  const low = ranking.skipped.length - flagged
  const best = Math.max(...ranking.skipped.map((s) => s.score))
  return flagged === 0
    ? SessionCliError.ALL_BELOW_MIN_SCORE(low, rules.minScore ?? 0, Math.round(best * 10) / 10)
    : low === 0
      ? SessionCliError.ALL_FLAGGED(flagged)
      : SessionCliError.NO_PROVIDER_QUALIFIES(flagged, low, rules.minScore ?? 0)
}
