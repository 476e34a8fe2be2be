// The score (issue 13's weights, the README's "The score"): one pure function of counts that have
// already been checked, so that its table of vectors and the README's explanation can be held equal
// by test. Every weight is what a signal costs a stranger to fake. Whatever a provider can make
// alone weighs nothing: keys are free (vouches, unverified reviews), its own LNURL server signs any
// receipt (zaps from strangers), and its own node signs any invoice and picks its preimage, so it can
// hand a fresh key a "proof of payment" nobody paid (verified reviews from strangers). What counts is
// what a key in the viewer's graph signed.

import { FLAG_REPORTERS } from '@2020117/protocol'

export const WEIGHTS = {
  /** Points per vouch, before the class weight. */
  TRUST_POINTS: 100,
  /** A voucher the viewer follows (or the viewer itself). */
  VOUCH_FOLLOWS: 1,
  /** A voucher followed by one of the viewer's follows. */
  VOUCH_GRAPH: 0.25,
  /** A voucher outside the graph: shown, weighs nothing (a key costs nothing to make). */
  VOUCH_OUTSIDE: 0,
  /** Points per power of ten of effective zapped sats. */
  ZAP_POINTS: 10,
  /** Sats zapped by a sender in the graph count whole. */
  ZAP_IN_GRAPH: 1,
  /** Sats zapped by a sender outside: the receipt is only the recipient's own server's word. */
  ZAP_OUTSIDE: 0,
  /** Below this many effective sats the zap term is 0 (the log would be negative). */
  ZAP_MIN_SATS: 1,
  /** Points per distinct job or session backed by a verified review from the graph. */
  JOB_POINTS: 5,
  /** Points per star of the weighted average away from the centre. */
  RATING_POINTS: 20,
  /** The neutral rating: an average above it raises the score, below it lowers it. */
  RATING_CENTRE: 3,
  /** The weight of the one neutral review always present, so that no single review swings fully. */
  PRIOR_WEIGHT: 1,
  /** Review weights: verified (a proof of payment) or not, by an author in the graph or outside. */
  REVIEW_VERIFIED_IN_GRAPH: 1,
  REVIEW_VERIFIED_OUTSIDE: 0,
  REVIEW_UNVERIFIED_IN_GRAPH: 0.2,
  REVIEW_UNVERIFIED_OUTSIDE: 0,
  /** Each term is rounded to this step; the score is the sum of the rounded terms. */
  TERM_STEP: 0.1,
  /** reviews.avg is rounded to this step. */
  AVG_STEP: 0.01,
  /** Distinct reporters in the graph that flag a subject (not a term: flagged providers are skipped). */
  FLAG_REPORTERS
} as const

export interface ScoreInputs {
  /** Distinct vouchers by class: follows (and the viewer), follows of follows, everyone else. */
  vouchers: { follows: number; graph: number; outside: number }
  /** Validated, deduplicated zapped sats by the sender's class: in the graph (follows or graph), outside. */
  zapSats: { inGraph: number; outside: number }
  /** Each counted review: its rating (1..5), whether its proof holds, whether its author is in the graph. */
  reviews: Array<{ rating: number; verified: boolean; inGraph: boolean }>
  /** Distinct job or session ids with a verified review by an author in the graph. */
  jobsCompleted: number
}

export interface ScoreResult {
  score: number
  terms: { trust: number; zaps: number; jobs: number; rating: number }
  /** The plain weighted mean of the reviews that weigh, or null when none does. */
  avg: number | null
}

export function score(inputs: ScoreInputs): ScoreResult {
  const W = WEIGHTS
  const v = inputs.vouchers
  const trust = W.TRUST_POINTS * (v.follows * W.VOUCH_FOLLOWS + v.graph * W.VOUCH_GRAPH + v.outside * W.VOUCH_OUTSIDE)
  const sats = inputs.zapSats.inGraph * W.ZAP_IN_GRAPH + inputs.zapSats.outside * W.ZAP_OUTSIDE
  const zaps = sats >= W.ZAP_MIN_SATS ? W.ZAP_POINTS * Math.log10(sats) : 0
  const jobs = W.JOB_POINTS * inputs.jobsCompleted
  let weight = 0
  let weighted = 0
  for (const r of inputs.reviews) {
    const w = reviewWeight(r)
    weight += w
    weighted += w * r.rating
  }
  const centred = (W.PRIOR_WEIGHT * W.RATING_CENTRE + weighted) / (W.PRIOR_WEIGHT + weight) - W.RATING_CENTRE
  const terms = {
    trust: round(trust, W.TERM_STEP),
    zaps: round(zaps, W.TERM_STEP),
    jobs: round(jobs, W.TERM_STEP),
    rating: round(W.RATING_POINTS * centred, W.TERM_STEP)
  }
  const total = round(terms.trust + terms.zaps + terms.jobs + terms.rating, W.TERM_STEP)
  return { score: total, terms, avg: weight > 0 ? round(weighted / weight, W.AVG_STEP) : null }
}

function reviewWeight(r: { verified: boolean; inGraph: boolean }): number {
  if (r.verified) return r.inGraph ? WEIGHTS.REVIEW_VERIFIED_IN_GRAPH : WEIGHTS.REVIEW_VERIFIED_OUTSIDE
  return r.inGraph ? WEIGHTS.REVIEW_UNVERIFIED_IN_GRAPH : WEIGHTS.REVIEW_UNVERIFIED_OUTSIDE
}

/** To the nearest multiple of `step`, halves away from zero, and -0 as 0. */
function round(x: number, step: number): number {
  const inverse = Math.round(1 / step)
  const n = Math.sign(x) * Math.round(Math.abs(x) * inverse + 1e-9)
  return n / inverse + 0
}
