// Which offers are worth paying, by their providers' reputation as the customer sees it (SPEC §11,
// @2020117/reputation). A rating is a relay read that may hang or fail: it is bounded in time, and
// one that does not come leaves its providers unrated, with a warning, so that an outage never
// invents a reputation and never holds the payment longer than the bound. An unrated provider is
// ranked after every rated one, since a flagged provider could make its own rating hang (a slow
// LNURL server, a flood) to pass as a stranger; it is refused outright when the customer asked
// for a score or zaps it cannot be shown to have. The price is weighed against the score by
// rankProviders (the price divided by 1 + score/100); an offer set aside by reputation is a
// refusal with its own code, never paid.

import { rankProviders, type Ranked, type Rater, type Reputation } from '@2020117/reputation'
import { JobRunError } from './errors.js'
import type { ApprovedInvoice } from './offers.js'

export interface ChoiceTerms {
  /** --min-score: providers scoring below it are refused. */
  minScore: number | null
  /** --allow-flagged: flagged providers are refused unless this is set. */
  allowFlagged: boolean
  /** --min-zap-sats: providers whose validated zap total is below it are refused. */
  minZapSats: number | null
}

/** One offer as the choice saw it, for the summary. */
export interface Considered {
  provider: string
  amountMsat: number
  score: number
  flagged: boolean
  /** False when the provider's reputation could not be read in time: ranked after every rated one. */
  rated: boolean
  effectivePriceMsat: number
  /** The refusal code when reputation set it aside, else null. */
  refused: string | null
}

export interface Decision {
  /** The offers to try, best first. */
  order: ApprovedInvoice[]
  refusals: Array<{ offer: ApprovedInvoice; error: JobRunError }>
  considered: Considered[]
}

/**
 * The providers' reputations, read in one `rate` call (the reader asks the relays for many subjects
 * per filter, so that a hundred offers cost about what one does): each provider maps to its
 * reputation, or to null when the rater knows nothing of it (a stranger). Null as a whole when no
 * answer came within `ms` or the read failed (said through `warn`): then none of them is rated.
 */
export async function rateWithin(
  rater: Rater,
  pubkeys: readonly string[],
  ms: number,
  warn: (message: string) => void
): Promise<Map<string, Reputation | null> | null> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms)
    timer.unref()
  })
  const who = `${pubkeys.length === 1 ? '' : `${pubkeys.length} providers (`}${pubkeys[0]?.slice(0, 12)}…${pubkeys.length === 1 ? '' : ', …)'}`
  try {
    const rated = await Promise.race([rater.rate([...pubkeys]), late])
    if (rated !== 'late') return new Map(pubkeys.map((p) => [p, rated.get(p) ?? null]))
    warn(`no reputation for ${who} within ${ms} ms: unrated`)
  } catch (err) {
    warn(`no reputation for ${who} (${(err as Error).message.slice(0, 200)}): unrated`)
  } finally {
    clearTimeout(timer)
  }
  return null
}

/**
 * The offers ranked by price against score, every rated provider first, and those reputation
 * refuses (flagged, low score, low zaps, unrated against a threshold). `reputations` holds each
 * rated provider: its reputation, or null for a stranger; a provider absent from it is unrated.
 */
export function decide(
  offers: readonly ApprovedInvoice[],
  reputations: ReadonlyMap<string, Reputation | null>,
  terms: ChoiceTerms
): Decision {
  const known = new Map<string, Reputation>()
  for (const [pubkey, r] of reputations) if (r) known.set(pubkey, r)
  const items = offers.map((offer) => ({ pubkey: offer.provider, priceMsat: offer.amountMsat, offer }))
  const ranking = rankProviders(items, known, {
    ...(terms.minScore !== null ? { minScore: terms.minScore } : {}),
    allowFlagged: terms.allowFlagged
  })
  const rated = (r: Ranked<(typeof items)[number]>) => reputations.has(r.item.pubkey)
  const decision: Decision = { order: [], refusals: [], considered: [] }
  const note = (r: Ranked<(typeof items)[number]>, error: JobRunError | null): void => {
    decision.considered.push({
      provider: r.item.pubkey,
      amountMsat: r.item.priceMsat,
      score: r.score,
      flagged: r.reputation?.flagged ?? false,
      rated: rated(r),
      effectivePriceMsat: Math.round(r.effectivePriceMsat),
      refused: error?.code ?? null
    })
    if (error) decision.refusals.push({ offer: r.item.offer, error })
    else decision.order.push(r.item.offer)
  }
  for (const r of ranking.skipped)
    note(
      r,
      r.reason === 'FLAGGED'
        ? JobRunError.JOB_PROVIDER_FLAGGED(r.reputation?.reports.inGraph ?? 0)
        : rated(r)
          ? JobRunError.JOB_LOW_SCORE(r.score, terms.minScore ?? 0)
          : JobRunError.JOB_UNRATED(`--min-score=${terms.minScore}`)
    )
  // A stable partition: the ranking's order within the rated, then within the unrated.
  const eligible = [...ranking.eligible.filter(rated), ...ranking.eligible.filter((r) => !rated(r))]
  for (const r of eligible) note(r, zapRefusal(r.reputation, rated(r), terms))
  return decision
}

/** Why --min-zap-sats refuses a provider, or null. An unrated one cannot be shown to have any. */
function zapRefusal(r: Reputation | null, rated: boolean, terms: ChoiceTerms): JobRunError | null {
  if (terms.minZapSats === null) return null
  if (!rated) return JobRunError.JOB_UNRATED(`--min-zap-sats=${terms.minZapSats}`)
  const sats = r?.zaps.totalSats ?? 0
  return sats < terms.minZapSats ? JobRunError.JOB_LOW_ZAPS(sats, terms.minZapSats) : null
}

/**
 * How a provider's reputation reads in a log line: its score and, when it is, FLAGGED; `unrated`
 * when no rating came (`undefined`, as a map of the rated gives it).
 */
export function describeReputation(r: Reputation | null | undefined): string {
  if (r === undefined) return 'unrated (no reputation came in time: ranked after every rated provider)'
  if (r === null) return 'score 0'
  return `score ${r.score}${r.flagged ? `, FLAGGED (reported by ${r.reports.inGraph} of your graph)` : ''}`
}
