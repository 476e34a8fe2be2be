// Reputations for listing and choosing providers (SPEC §11, @2020117/reputation), as the customer's
// own key sees them. Reading them is bounded in time and never in the way: a relay that fails or
// is slow leaves every provider at score 0 with a warning, and the session goes on.

import { peerText, type Logger } from '@2020117/cli'
import { RelayPool } from '@2020117/nostr'
import { ReputationReader, type Ranking, type Reputation } from '@2020117/reputation'
import { knownNetwork, NwcWallet, walletNetworkName, type NetworkName } from '@2020117/wallet'
import { WebSocket } from 'ws'
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
  // A relay that cannot be reached answers a query with nothing, which reads like a stranger: the
  // customer is told, rather than shown scores of 0 that look read.
  const reached = anyRelayOpens(ctx.relays, QUERY_WAIT_MS)
  try {
    const rated = await within(reader.rate(wanted), RATING_DEADLINE_MS)
    if (!(await reached)) {
      ctx.log.warn(
        `none of the ${ctx.relays.length} relay(s) could be reached to read reputations: every provider scores 0`
      )
      return new Map()
    }
    if (rated === null) {
      ctx.log.warn(`reputations not read within ${RATING_DEADLINE_MS / 1000} s: every provider scores 0`)
      return new Map()
    }
    ctx.log.debug('reputations read', { providers: rated.size })
    return rated
  } catch (err) {
    ctx.log.warn(`reputations could not be read (${peerText((err as Error).message, 200)}): every provider scores 0`)
    return new Map()
  } finally {
    pool.close()
  }
}

/** `p`, or null once `ms` have passed (what `p` does later is dropped). */
function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  p.catch(() => {}) // past the deadline nobody waits for it
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** Whether any of `relays` accepts a WebSocket within `ms`; every socket is closed again. */
function anyRelayOpens(relays: string[], ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let left = relays.length
    const sockets: WebSocket[] = []
    const done = (answer: boolean) => {
      clearTimeout(timer)
      for (const ws of sockets) ws.terminate()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), ms)
    for (const url of relays) {
      const ws = new WebSocket(url, { handshakeTimeout: ms })
      sockets.push(ws)
      ws.on('error', () => {})
      ws.on('open', () => done(true))
      ws.on('close', () => --left === 0 && done(false))
    }
  })
}

/** The network proofs must be on: the wallet's when it says one, else the bin's (--network, --devnet). */
export async function walletNetwork(wallet: NwcWallet | null, fallback: NetworkName): Promise<NetworkName> {
  if (!wallet) return fallback
  try {
    const info = await within(wallet.info(), QUERY_WAIT_MS)
    return knownNetwork(walletNetworkName(info?.network)) ?? fallback
  } catch {
    return fallback
  }
}

/** --list holds no wallet: one is opened only to ask its network, for a few seconds at most. */
export async function networkOfUri(uri: string | undefined, fallback: NetworkName): Promise<NetworkName> {
  if (!uri) return fallback
  let wallet: NwcWallet | null = null
  try {
    wallet = await NwcWallet.connect(uri)
    return await walletNetwork(wallet, fallback)
  } catch {
    return fallback
  } finally {
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
