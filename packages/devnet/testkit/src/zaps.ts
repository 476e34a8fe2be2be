// A NIP-57 zap on the local network, end to end as a Nostr client and a wallet would make it: read
// the recipient's Lightning address, sign a zap request, ask the callback for an invoice, pay it
// from a devnet wallet account, and wait for the zap receipt on the relay. It resolves on the
// receipt event itself, never after a sleep: the relay subscription is open (EOSE) before the
// payment, so the receipt cannot slip by.

import { finalizeEvent, type Event } from 'nostr-tools/pure'
import { RelayPool } from '@2020117/nostr'
import type { Devnet } from '@2020117/devnet'

export interface ZapOptions {
  /** The zap sender's Nostr secret key: it signs the zap request. */
  senderSecretKey: Uint8Array
  /** The devnet wallet account that pays the invoice. */
  payer: string
  /** The devnet wallet account being zapped: its Lightning address is `recipient@<lnurl host>`. */
  recipient: string
  /**
   * The recipient's Nostr pubkey (hex), the zap request's `p`. Its newest profile (kind 0) on the
   * devnet relay must name the account's lud16, or the server refuses the zap (RECIPIENT_UNBOUND).
   */
  recipientPubkey: string
  sats: number
  /** The zapped event (`e`); omitted for a zap of the profile. */
  eventId?: string
  /** The zap request's content (a comment). */
  content?: string
  /** How long to wait for the receipt. Default 10 s. */
  timeoutMs?: number
}

export async function zap(devnet: Devnet, opts: ZapOptions): Promise<Event> {
  if (!devnet.lnurl) throw new Error('this devnet runs without its Lightning-address server (lnurl: false)')
  const amountMsat = opts.sats * 1000
  const payRequest = await getJson(`${devnet.lnurl.url}/.well-known/lnurlp/${opts.recipient}`)
  const request = finalizeEvent(
    {
      kind: 9734,
      created_at: Math.floor(Date.now() / 1000),
      content: opts.content ?? '',
      tags: [
        ['relays', devnet.relay.url],
        ['amount', String(amountMsat)],
        ['p', opts.recipientPubkey],
        ...(opts.eventId ? [['e', opts.eventId]] : [])
      ]
    },
    opts.senderSecretKey
  )
  const callback = new URL(String(payRequest.callback))
  callback.searchParams.set('amount', String(amountMsat))
  callback.searchParams.set('nostr', JSON.stringify(request))
  const answer = await getJson(callback.href)
  if (typeof answer.pr !== 'string') throw new Error(`the zap was refused: ${String(answer.reason)}`)
  const bolt11 = answer.pr
  const pool = new RelayPool([devnet.relay.url])
  try {
    const receipt = await watchReceipt(pool, opts.recipientPubkey, bolt11)
    await devnet.wallet.payInvoice(opts.payer, bolt11)
    return await receipt(opts.timeoutMs ?? 10_000)
  } finally {
    pool.close()
  }
}

/** Subscribes (and waits for EOSE) before the payment; the returned wait ends on the receipt for `bolt11`. */
async function watchReceipt(
  pool: RelayPool,
  recipient: string,
  bolt11: string
): Promise<(timeoutMs: number) => Promise<Event>> {
  let found!: (event: Event) => void
  const receipt = new Promise<Event>((resolve) => (found = resolve))
  const sub = pool.subscribe({ kinds: [9735], '#p': [recipient] }, (event) => {
    if (event.tags.some((t) => t[0] === 'bolt11' && t[1] === bolt11)) found(event)
  })
  await sub.ready
  return (timeoutMs) => {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no zap receipt on the relay within ${timeoutMs} ms`)), timeoutMs)
    })
    return Promise.race([receipt, late]).finally(() => {
      clearTimeout(timer)
      sub.close()
    })
  }
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { redirect: 'error' })
  return (await res.json()) as Record<string, unknown>
}
