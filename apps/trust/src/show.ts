// show: one provider's reputation as this viewer computes it (SPEC §11), every term beside the total
// and the ids of the events behind it, so that anyone can fetch and check them. The viewer is our
// identity (its follows are the graph), or nobody with --anonymous.

import { peerText } from '@2020117/cli'
import { npubOf } from '@2020117/nostr'
import { computeReputation, ReputationReader, type Reputation } from '@2020117/reputation'
import { viewerNetwork, type Context } from './context.js'
import type { Output } from './publish.js'

/** Event ids printed per term on a terminal; --json carries them all. */
const IDS_SHOWN = 10

export async function show(ctx: Context): Promise<Output> {
  const { start, target } = ctx
  const network = await viewerNetwork(ctx)
  const viewer = start.values.anonymous ? null : start.identity.entry.pubkey
  const reader = new ReputationReader({
    pool: ctx.pool,
    viewer,
    network,
    maxWaitMs: ctx.waitMs,
    onWarning: (message) => start.log.warn(peerText(message, 300))
  })
  const rated = (await reader.rate([target])).get(target)
  // A subject whose signals could not be read is a stranger: 0, unflagged (the reader's rule).
  const rep =
    rated ??
    computeReputation(
      { profiles: [], zaps: [], reviews: [], declarations: [], reports: [], deletions: [] },
      { subject: target, graph: await reader.viewerGraph(), lnurlNostrPubkey: null, network }
    )
  const head = { npub: npubOf(target), viewer: viewer ? npubOf(viewer) : null, network }
  return { json: { ...head, ...rep }, lines: reputationLines(rep, head) }
}

function reputationLines(r: Reputation, head: { npub: string; viewer: string | null; network: string }): string[] {
  const who = head.viewer ? `as ${head.viewer} sees it` : 'as an anonymous viewer sees it'
  const flag = r.flagged ? `   FLAGGED: reported by ${r.reports.inGraph} in your graph` : ''
  const e = r.evidence
  const reviews = [...e.reviewsVerified, ...e.reviewsUnverified]
  const avg = r.reviews.avg === null ? 'no weighing review' : `avg ${r.reviews.avg.toFixed(2)}`
  return [
    `${head.npub} (${who}, on ${head.network})`,
    `score ${points(r.score)}${flag}`,
    term(
      'trust',
      r.terms.trust,
      `trusted by ${r.wot.trustedBy}: ${r.wot.trustedByYourFollows} you follow, ${r.wot.trustedByYourGraph} in your graph`,
      e.vouches
    ),
    term(
      'zaps',
      r.terms.zaps,
      `${r.zaps.totalSats} sats in ${r.zaps.count} zap(s), ${r.zaps.inGraphSats} from your graph`,
      e.zaps
    ),
    term('jobs', r.terms.jobs, `${r.jobsCompleted} job(s) with a verified review`, e.reviewsVerified),
    term(
      'rating',
      r.terms.rating,
      `${avg}: ${r.reviews.verified} verified, ${r.reviews.unverified} unverified`,
      reviews
    ),
    term(
      'reports',
      null,
      `${r.reports.inGraph} in your graph of ${r.reports.total}${r.reports.flagged ? ' (flagged)' : ''}`,
      e.reports
    ),
    term(
      'ranks',
      null,
      r.assertions.length === 0
        ? 'none from the services you chose (NIP-85)'
        : r.assertions.map((a) => `${npubOf(peerText(a.service, 64))} rank ${a.rank}`).join(', '),
      e.assertions
    )
  ]
}

/** One line per term: its name, the points it adds (none for the terms the score does not add), what it counts, and the evidence. */
function term(name: string, value: number | null, what: string, ids: string[]): string {
  const shown = ids.slice(0, IDS_SHOWN).map((id) => peerText(id, 64))
  const more = ids.length > IDS_SHOWN ? ` … and ${ids.length - IDS_SHOWN} more (--json)` : ''
  const evidence = ids.length === 0 ? '' : `   evidence: ${shown.join(' ')}${more}`
  return `  ${name.padEnd(8)} ${(value === null ? '' : points(value)).padStart(7)}  ${peerText(what, 400)}${evidence}`
}

function points(n: number): string {
  return (Math.round(n * 10) / 10).toFixed(1)
}
