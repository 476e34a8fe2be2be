// Reputations made to order, for the tests that judge how 2020117-job chooses with them: a Rater
// that answers what a test says, late or failing when it says so.

import type { Rater, Reputation } from '@2020117/reputation'

export function reputationOf(
  pubkey: string,
  r: { score?: number; flagged?: boolean; zapSats?: number; inGraphReporters?: number } = {}
): Reputation {
  const flagged = r.flagged ?? false
  return {
    pubkey,
    score: r.score ?? 0,
    flagged,
    wot: { trustedBy: 0, trustedByYourFollows: 0, trustedByYourGraph: 0 },
    zaps: { totalSats: r.zapSats ?? 0, count: r.zapSats ? 1 : 0, inGraphSats: 0 },
    reviews: { verified: 0, unverified: 0, avg: null },
    reports: { inGraph: r.inGraphReporters ?? (flagged ? 3 : 0), total: 0, flagged },
    jobsCompleted: 0,
    assertions: [],
    terms: { trust: r.score ?? 0, zaps: 0, jobs: 0, rating: 0 },
    evidence: { vouches: [], zaps: [], reviewsVerified: [], reviewsUnverified: [], reports: [], assertions: [] }
  }
}

/** Answers from `table`; a pubkey marked 'hang' never answers, 'fail' rejects; others are strangers (absent). */
export function fakeRater(table: Record<string, Reputation | 'hang' | 'fail'>): Rater & { asked: string[][] } {
  const asked: string[][] = []
  return {
    asked,
    async rate(pubkeys) {
      asked.push(pubkeys)
      const out = new Map<string, Reputation>()
      for (const p of pubkeys) {
        const entry = table[p]
        if (entry === 'hang') return new Promise<never>(() => {})
        if (entry === 'fail') throw new Error('relay refused the query')
        if (entry) out.set(p, entry)
      }
      return out
    }
  }
}
