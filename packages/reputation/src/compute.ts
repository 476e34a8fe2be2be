// PLACEHOLDER until the reading side lands (issue 13, helper "core"): every subject scores 0.
import type { Event } from 'nostr-tools/pure'
import type { ComputeOptions, Graph, Reputation, SubjectEvents, ViewerEvents } from './types.js'

export function buildGraph(viewer: string | null, _events: ViewerEvents): Graph {
  return { viewer, follows: new Set(), members: new Set(viewer ? [viewer] : []), services: new Set() }
}

/** The lud16 of the subject's newest valid kind 0, or null. */
export function lud16Of(_subject: string, _profiles: Event[]): string | null {
  return null
}

export function computeReputation(_events: SubjectEvents, opts: ComputeOptions): Reputation {
  return {
    pubkey: opts.subject,
    score: 0,
    flagged: false,
    wot: { trustedBy: 0, trustedByYourFollows: 0, trustedByYourGraph: 0 },
    zaps: { totalSats: 0, count: 0, inGraphSats: 0 },
    reviews: { verified: 0, unverified: 0, avg: null },
    reports: { inGraph: 0, total: 0, flagged: false },
    jobsCompleted: 0,
    assertions: [],
    terms: { trust: 0, zaps: 0, jobs: 0, rating: 0 },
    evidence: { vouches: [], zaps: [], reviewsVerified: [], reviewsUnverified: [], reports: [], assertions: [] }
  }
}
