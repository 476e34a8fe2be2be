// Choosing among providers that qualify: price weighed against score, not cheapest-only. A score
// of S divides the price by 1 + S/100 (a negative one multiplies it by 1 + |S|/100), so a provider
// scoring 100 is worth paying twice as much as one scoring 0. Flagged providers, and those under
// --min-score, are set aside with the reason, never silently dropped.

import type { Reputation } from './types.js'

export interface Priced {
  pubkey: string
  /** The price in msat for the unit being compared (a job, or a minute of a session). */
  priceMsat: number
}

export interface ChoiceOptions {
  /** Providers scoring below this are skipped (default: none). */
  minScore?: number
  /** Flagged providers are skipped unless this is set. */
  allowFlagged?: boolean
}

export type SkipReason = 'FLAGGED' | 'LOW_SCORE'

export interface Ranked<T> {
  item: T
  /** Null when no reputation could be read: it is scored 0. */
  reputation: Reputation | null
  score: number
  /** The price divided by the score's value factor: what the ranking compares. */
  effectivePriceMsat: number
}

export interface Ranking<T> {
  /** Best first. */
  eligible: Array<Ranked<T>>
  skipped: Array<Ranked<T> & { reason: SkipReason }>
}

/** The factor a score divides the price by: 1 + S/100, or 1 / (1 + |S|/100) for a negative S. */
export function valueFactor(score: number): number {
  return score >= 0 ? 1 + score / 100 : 1 / (1 - score / 100)
}

export function rankProviders<T extends Priced>(
  items: readonly T[],
  reputations: ReadonlyMap<string, Reputation>,
  opts: ChoiceOptions = {}
): Ranking<T> {
  const ranking: Ranking<T> = { eligible: [], skipped: [] }
  for (const item of items) {
    const reputation = reputations.get(item.pubkey) ?? null
    const score = reputation?.score ?? 0
    const ranked = { item, reputation, score, effectivePriceMsat: item.priceMsat / valueFactor(score) }
    if (reputation?.flagged && !opts.allowFlagged) ranking.skipped.push({ ...ranked, reason: 'FLAGGED' })
    else if (opts.minScore !== undefined && score < opts.minScore)
      ranking.skipped.push({ ...ranked, reason: 'LOW_SCORE' })
    else ranking.eligible.push(ranked)
  }
  ranking.eligible.sort(
    (a, b) =>
      a.effectivePriceMsat - b.effectivePriceMsat ||
      b.score - a.score ||
      (a.item.pubkey < b.item.pubkey ? -1 : a.item.pubkey > b.item.pubkey ? 1 : 0)
  )
  return ranking
}
