// Trust declarations (SPEC §11.2). A kind 30382 with `d` = the subject is addressable: its author's
// newest one is the one that stands, and it is a vouch (`["assertion", "trusted"]`, `p` = the
// subject) or a NIP-85 assertion (`rank`, read only from the viewer's chosen services). A NIP-32
// label (kind 1985, namespace 2020117.trust) vouches too. One author vouches once, whatever forms it
// uses; a vouch revoked by its author (kind 5) is no vouch; the subject never vouches for itself.

import { kinds, TRUST_ASSERTION, TRUST_LABEL, TRUST_LABEL_NAMESPACE } from '@2020117/protocol'
import type { Event } from 'nostr-tools/pure'
import { newestBy, single, tagValues, verifiedAll } from '../check.js'
import { vouchAddress } from '../events.js'
import type { Graph } from '../types.js'
import type { Deletions } from './deletions.js'

const RANK = /^-?\d{1,6}(\.\d{1,6})?$/

export interface DeclarationSignal {
  /** Each voucher and the event id of its vouch. */
  vouchers: Map<string, string>
  assertions: Array<{ service: string; rank: number; id: string }>
}

export function readDeclarations(
  events: readonly unknown[],
  subject: string,
  graph: Graph,
  deletions: Deletions
): DeclarationSignal {
  const vouchers = new Map<string, string>()
  const assertions: DeclarationSignal['assertions'] = []
  const addressed = verifiedAll(events, kinds.TrustAssertion).filter(
    (e) => single(e, 'd') === subject && e.pubkey !== subject
  )
  for (const [author, e] of newestBy(addressed, (e) => e.pubkey)) {
    if (deletions.deleted(e, vouchAddress(author, subject))) continue
    const rank = single(e, 'rank')
    if (isVouch(e, subject)) vouchers.set(author, e.id)
    else if (rank !== null && RANK.test(rank) && graph.services.has(author))
      assertions.push({ service: author, rank: Number(rank), id: e.id })
  }
  const labels = verifiedAll(events, kinds.Label).filter(
    (e) => e.pubkey !== subject && isTrustLabel(e, subject) && !deletions.deleted(e)
  )
  for (const [author, e] of newestBy(labels, (e) => e.pubkey)) if (!vouchers.has(author)) vouchers.set(author, e.id)
  return { vouchers, assertions }
}

function isVouch(e: Event, subject: string): boolean {
  return single(e, 'assertion') === TRUST_ASSERTION && tagValues(e, 'p').includes(subject)
}

function isTrustLabel(e: Event, subject: string): boolean {
  return (
    tagValues(e, 'L').includes(TRUST_LABEL_NAMESPACE) &&
    e.tags.some((t) => t[0] === 'l' && t[1] === TRUST_LABEL && t[2] === TRUST_LABEL_NAMESPACE) &&
    tagValues(e, 'p').includes(subject)
  )
}
