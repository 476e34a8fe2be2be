// Reviews (kind 31117, SPEC §11.3): addressable by author and `d` (the job or session id), so an
// author's newest review of one job is the one that stands. A review is verified when its proof of
// payment holds for this provider, this id and the viewer's network (proof.ts); one payment hash
// backs one review, the first by created_at (then id), so a copied proof verifies nothing more.

import { kinds } from '@2020117/protocol'
import type { NetworkName } from '@2020117/wallet'
import type { Event } from 'nostr-tools/pure'
import { newestBy, single, tagValues, verifiedAll } from '../check.js'
import { classOf } from '../graph.js'
import { checkReviewProof, subjectKind } from '../proof.js'
import type { Graph } from '../types.js'

const RATING = /^[1-5]$/

export interface CountedReview {
  id: string
  /** The job or session id. */
  d: string
  rating: number
  verified: boolean
  inGraph: boolean
}

export interface ReviewSignal {
  reviews: CountedReview[]
  /** Distinct job or session ids with a verified review by an author in the graph. */
  jobsCompleted: number
}

export interface ReviewContext {
  subject: string
  graph: Graph
  network: NetworkName
}

export function readReviews(events: readonly unknown[], c: ReviewContext): ReviewSignal {
  const wellFormed = verifiedAll(events, kinds.Review).filter((e) => isReviewOf(e, c.subject))
  const standing = [...newestBy(wellFormed, (e) => `${e.pubkey} ${single(e, 'd')}`).values()]
  standing.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1))
  const used = new Set<string>()
  const reviews = standing.map((e) => {
    const d = single(e, 'd') as string
    const hash = provenPayment(e, d, c)
    const verified = hash !== null && !used.has(hash)
    if (verified) used.add(hash)
    const rating = Number(single(e, 'rating'))
    return { id: e.id, d, rating, verified, inGraph: classOf(c.graph, e.pubkey) !== 'outside' }
  })
  // A provider can mint a proof for a fresh key of its own: only the graph's verified reviews show work done.
  const jobsCompleted = new Set(reviews.filter((r) => r.verified && r.inGraph).map((r) => r.d)).size
  return { reviews, jobsCompleted }
}

function isReviewOf(e: Event, subject: string): boolean {
  if (e.pubkey === subject) return false
  const d = single(e, 'd')
  const ps = tagValues(e, 'p')
  const rating = single(e, 'rating')
  return d !== null && subjectKind(d) !== null && ps.length === 1 && ps[0] === subject && RATING.test(rating ?? '')
}

/** The payment hash the review's proof proves, or null when it proves nothing. */
function provenPayment(e: Event, d: string, c: ReviewContext): string | null {
  const bolt11 = single(e, 'bolt11')
  const preimage = single(e, 'preimage')
  if (bolt11 === null || preimage === null) return null
  try {
    return checkReviewProof({ id: d, provider: c.subject, author: e.pubkey, bolt11, preimage, network: c.network })
      .paymentHash
  } catch {
    return null // a proof that does not hold: the review is shown as unverified
  }
}
