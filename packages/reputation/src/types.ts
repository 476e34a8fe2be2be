// The shapes reputation is computed from and reported as (SPEC §11). The events come from relays
// and are strangers' words: computeReputation checks each one; these types only name them.

import type { Event } from 'nostr-tools/pure'
import type { NetworkName } from '@2020117/wallet'

/** What the collector read for one subject (a provider), as received; nothing here is checked yet. */
export interface SubjectEvents {
  /** Kind 0 of the subject: its lud16 names the LNURL server whose key signs its zap receipts. */
  profiles: Event[]
  /** Kind 9735 with `#p` = subject. */
  zaps: Event[]
  /** Kind 31117 with `#p` = subject. */
  reviews: Event[]
  /** Kind 30382 with `#d` or `#p` = subject, and kind 1985 with `#p` = subject. */
  declarations: Event[]
  /** Kind 1984 with `#p` = subject. */
  reports: Event[]
  /** Kind 5 by the authors of the declarations and reports above (their revocations). */
  deletions: Event[]
}

/** What the collector read about the viewer, once for every subject. */
export interface ViewerEvents {
  /** Kind 3 of the viewer and of its follows. */
  contacts: Event[]
  /** The viewer's kind 10040 (NIP-85 services it chose). */
  serviceLists: Event[]
}

/** The viewer's graph (SPEC §11.1), built from ViewerEvents.contacts. */
export interface Graph {
  /** The viewer's hex pubkey, or null for an anonymous viewer (an empty graph). */
  viewer: string | null
  /** The viewer's follows (the viewer itself is not one of them). */
  follows: ReadonlySet<string>
  /** The viewer, its follows and their follows. */
  members: ReadonlySet<string>
  /** NIP-85 services the viewer chose for `30382:rank`. */
  services: ReadonlySet<string>
}

export interface ComputeOptions {
  /** The subject's hex pubkey. */
  subject: string
  graph: Graph
  /** The `nostrPubkey` of the subject's LNURL server, or null when none is known: no zap counts then. */
  lnurlNostrPubkey: string | null
  /** The viewer's Lightning network: a zap or a proof of payment on another one (play money) counts as nothing. */
  network: NetworkName
  /** Unix seconds, for tests. */
  now?: number
}

/** The evidence behind each term: event ids, so that anyone can fetch and check them. */
export interface Evidence {
  vouches: string[]
  zaps: string[]
  reviewsVerified: string[]
  reviewsUnverified: string[]
  reports: string[]
  assertions: string[]
}

/** One reputation, every term beside the total. JSON output passes it through snakeKeys. */
export interface Reputation {
  pubkey: string
  score: number
  flagged: boolean
  wot: { trustedBy: number; trustedByYourFollows: number; trustedByYourGraph: number }
  zaps: { totalSats: number; count: number; inGraphSats: number }
  reviews: { verified: number; unverified: number; avg: number | null }
  reports: { inGraph: number; total: number; flagged: boolean }
  jobsCompleted: number
  /** NIP-85 ranks from the services the viewer chose: shown, not scored. */
  assertions: Array<{ service: string; rank: number }>
  /** The points each term adds to the score: score = trust + zaps + jobs + rating. */
  terms: { trust: number; zaps: number; jobs: number; rating: number }
  evidence: Evidence
}

/** What chooses providers: reputations for a set of pubkeys, computed by one viewer. */
export interface Rater {
  rate(pubkeys: string[]): Promise<Map<string, Reputation>>
}
