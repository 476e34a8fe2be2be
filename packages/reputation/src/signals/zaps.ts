// Zaps (NIP-57, SPEC §11): receipts checked by @2020117/zaps (Appendix F, the self-zap dropped), on
// the viewer's network, one per payment hash and per zap request, split by whether the zap
// request's author is in the viewer's graph and signed the amount. Without the key of the subject's LNURL server no receipt can be checked: none counts.

import { MAX_SIGNAL_TAGS } from '@2020117/protocol'
import type { NetworkName } from '@2020117/wallet'
import { dedupeZaps, validateZapReceipt, type ValidZap } from '@2020117/zaps'
import type { Event } from 'nostr-tools/pure'
import { classOf } from '../graph.js'
import type { Graph } from '../types.js'

export interface ZapSignal {
  count: number
  totalSats: number
  inGraphSats: number
  outsideSats: number
  /** The receipts counted. */
  evidence: string[]
}

export interface ZapContext {
  subject: string
  graph: Graph
  lnurlNostrPubkey: string | null
  network: NetworkName
}

export function readZaps(receipts: readonly unknown[], c: ZapContext): ZapSignal {
  const valid: ValidZap[] = []
  const lnurlNostrPubkey = c.lnurlNostrPubkey
  if (lnurlNostrPubkey !== null) {
    for (const receipt of receipts) {
      const zap = validOne(receipt, c.subject, lnurlNostrPubkey)
      if (zap && zap.network === c.network) valid.push(zap)
    }
  }
  const counted = dedupeZaps(valid)
  let inGraphMsat = 0
  let outsideMsat = 0
  for (const z of counted) {
    // A graph member stands behind a zap only for an amount it signed: without one, the server chose it.
    if (classOf(c.graph, z.sender) === 'outside' || !z.amountCommitted) outsideMsat += z.amountMsat
    else inGraphMsat += z.amountMsat
  }
  return {
    count: counted.length,
    totalSats: (inGraphMsat + outsideMsat) / 1000,
    inGraphSats: inGraphMsat / 1000,
    outsideSats: outsideMsat / 1000,
    evidence: counted.map((z) => z.receiptId)
  }
}

function validOne(receipt: unknown, recipient: string, lnurlNostrPubkey: string): ValidZap | null {
  const tags = (receipt as { tags?: unknown } | null)?.tags
  if (!Array.isArray(tags) || tags.length > MAX_SIGNAL_TAGS) return null
  try {
    return validateZapReceipt(receipt as Event, { recipient, lnurlNostrPubkey })
  } catch {
    return null // a receipt that fails a check counts as nothing
  }
}
