// NIP-57 Appendix E: the zap receipt (kind 9735) this server signs once a zap invoice is paid. It
// carries the zap request exactly as the payer sent it (`description`, whose SHA-256 is the
// invoice's description hash), the paid invoice and its preimage, and is dated at the settlement,
// so that the same payment always gives the same receipt.

import { finalizeEvent, type Event } from 'nostr-tools/pure'
import { kinds } from '@2020117/protocol'

export interface PaidZap {
  /** The zap request, as checked by checkZapRequest. */
  request: Event
  /** The zap request's JSON exactly as received: what the invoice's description hash commits to. */
  description: string
  bolt11: string
  preimage: string
  /** When the wallet settled the invoice, Unix seconds. */
  settledAt: number
}

export function buildReceipt(zap: PaidZap, secretKey: Uint8Array): Event {
  const copied = ['p', 'e', 'a'].flatMap((name) => zap.request.tags.filter((t) => t[0] === name).slice(0, 1))
  const tags = [
    ...copied.map((t) => [t[0] as string, t[1] ?? '']),
    ['P', zap.request.pubkey],
    ['bolt11', zap.bolt11],
    ['description', zap.description],
    ['preimage', zap.preimage]
  ]
  return finalizeEvent({ kind: kinds.Zap, created_at: zap.settledAt, tags, content: '' }, secretKey)
}
