// One subject's reputation as one viewer sees it (SPEC §11): every signal read from the events the
// collector found, each event checked (signature on a fresh copy, kind, tags, bounds), and the
// counts weighed by score(). Pure, and it never throws on a stranger's event: one that fails a check
// counts as nothing. At most MAX_SIGNAL_EVENTS events of each category are considered.

import { MAX_SIGNAL_EVENTS } from '@2020117/protocol'
import { classOf } from './graph.js'
import { score } from './score.js'
import { readDeclarations } from './signals/declarations.js'
import { readDeletions } from './signals/deletions.js'
import { readReports } from './signals/reports.js'
import { readReviews } from './signals/reviews.js'
import { readZaps } from './signals/zaps.js'
import type { ComputeOptions, Graph, Reputation, SubjectEvents } from './types.js'

export { buildGraph } from './graph.js'
export { lud16Of } from './signals/profile.js'

export function computeReputation(events: SubjectEvents, opts: ComputeOptions): Reputation {
  const { subject, graph } = opts
  const bounded = (list: readonly unknown[] | undefined): unknown[] => (list ?? []).slice(0, MAX_SIGNAL_EVENTS)
  const deletions = readDeletions(bounded(events.deletions))
  const trust = readDeclarations(bounded(events.declarations), subject, graph, deletions)
  const zaps = readZaps(bounded(events.zaps), opts)
  const reviews = readReviews(bounded(events.reviews), { subject, graph, network: opts.network })
  const reports = readReports(bounded(events.reports), subject, graph, deletions)
  const vouchers = vouchersByClass(graph, [...trust.vouchers.keys()])
  const result = score({
    vouchers,
    zapSats: { inGraph: zaps.inGraphSats, outside: zaps.outsideSats },
    reviews: reviews.reviews,
    jobsCompleted: reviews.jobsCompleted
  })
  const verified = reviews.reviews.filter((r) => r.verified)
  const unverified = reviews.reviews.filter((r) => !r.verified)
  return {
    pubkey: subject,
    score: result.score,
    flagged: reports.flagged,
    wot: {
      trustedBy: trust.vouchers.size,
      trustedByYourFollows: vouchers.follows,
      trustedByYourGraph: vouchers.follows + vouchers.graph
    },
    zaps: { totalSats: zaps.totalSats, count: zaps.count, inGraphSats: zaps.inGraphSats },
    reviews: { verified: verified.length, unverified: unverified.length, avg: result.avg },
    reports: { inGraph: reports.inGraph, total: reports.total, flagged: reports.flagged },
    jobsCompleted: reviews.jobsCompleted,
    assertions: trust.assertions.map(({ service, rank }) => ({ service, rank })),
    terms: result.terms,
    evidence: {
      vouches: [...trust.vouchers.values()],
      zaps: zaps.evidence,
      reviewsVerified: verified.map((r) => r.id),
      reviewsUnverified: unverified.map((r) => r.id),
      reports: reports.reports.map((r) => r.id),
      assertions: trust.assertions.map((a) => a.id)
    }
  }
}

function vouchersByClass(graph: Graph, vouchers: string[]): { follows: number; graph: number; outside: number } {
  const counts = { follows: 0, graph: 0, outside: 0 }
  for (const v of vouchers) counts[classOf(graph, v)]++
  return counts
}
