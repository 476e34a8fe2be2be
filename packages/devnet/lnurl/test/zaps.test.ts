// The local network's Lightning-address server takes NIP-57 zaps: a zap paid from a devnet wallet
// account gives a receipt on the relay that @2020117/zaps validates (Appendix F) against the key the
// address advertises; a hostile zap request gets an LUD-06 ERROR and no invoice; an unpaid invoice
// gives no receipt; the money is judged by the wallet ledger.

import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { RelayPool } from '@2020117/nostr'
import { startTestNetwork, type TestNetwork } from '@2020117/testkit'
import { invoiceFromLightningAddress } from '@2020117/wallet'
import { lnurlNostrPubkey, validateZapReceipt } from '@2020117/zaps'

let net: TestNetwork
let pool: RelayPool
const recipientKey = generateSecretKey()
const recipient = getPublicKey(recipientKey)
const senderKey = generateSecretKey()
let lud16 = ''

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  pool = new RelayPool([net.devnet.relay.url])
  lud16 = net.devnet.state.accounts.provider!.lud16!
  const profile = finalizeEvent(
    { kind: 0, created_at: Math.floor(Date.now() / 1000), tags: [], content: JSON.stringify({ lud16 }) },
    recipientKey
  )
  expect(await pool.publish(profile)).toBe(1)
})
afterAll(() => pool?.close())

function zapRequest(overrides: { tags?: string[][]; content?: string; kind?: number } = {}, msat = 21_000): Event {
  const tags = overrides.tags ?? [
    ['relays', net.devnet.relay.url],
    ['amount', String(msat)],
    ['p', recipient]
  ]
  const template = { kind: overrides.kind ?? 9734, created_at: Math.floor(Date.now() / 1000), tags }
  return finalizeEvent({ ...template, content: overrides.content ?? '' }, senderKey)
}

async function callback(params: Record<string, string>, account = 'provider'): Promise<Record<string, unknown>> {
  const url = new URL(`${net.devnet.lnurl!.url}/lnurlp/${account}/callback`)
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v)
  return (await (await fetch(url)).json()) as Record<string, unknown>
}

const invoicesOf = (account: string) => net.devnet.wallet.transactions(account, { unpaid: true, type: 'incoming' })

test('the address advertises NIP-57 zaps, with the key in devnet.json', async () => {
  expect(lud16).toBe(`provider@127.0.0.1:${net.devnet.lnurl!.port}`)
  const pubkey = await lnurlNostrPubkey(lud16, { allowHttpLoopback: true, timeoutMs: 5000 })
  expect(pubkey).toBe(net.devnet.state.lnurl!.nostr_pubkey)
  expect(pubkey).toBe(net.devnet.lnurl!.nostrPubkey)
})

test('a zap paid from the wallet gives a receipt that passes Appendix F, and moves the money in the ledger', async () => {
  const before = { provider: net.balanceMsat('provider'), customer: net.balanceMsat('customer') }
  const eventId = 'e'.repeat(64)
  const receipt = await net.zap({
    senderSecretKey: senderKey,
    payer: 'customer',
    recipient: 'provider',
    recipientPubkey: recipient,
    sats: 21,
    eventId
  })
  const lnurlPubkey = await lnurlNostrPubkey(lud16, { allowHttpLoopback: true, timeoutMs: 5000 })
  const zap = validateZapReceipt(receipt, { recipient, lnurlNostrPubkey: lnurlPubkey })
  expect(zap).toMatchObject({ amountMsat: 21_000, sender: getPublicKey(senderKey), eventId })
  expect(receipt.tags).toContainEqual(['P', getPublicKey(senderKey)])
  const paid = net.devnet.wallet.lookupInvoice('provider', { paymentHash: zap.paymentHash })
  expect(paid.state).toBe('settled')
  expect(receipt.created_at).toBe(paid.settled_at)
  expect(receipt.tags).toContainEqual(['preimage', paid.preimage])
  expect(net.balanceMsat('provider')).toBe(before.provider + 21_000)
  expect(net.balanceMsat('customer')).toBe(before.customer - 21_000)
})

describe('a hostile zap request gets an LUD-06 ERROR and no invoice', () => {
  const tampered = () => ({ ...zapRequest(), content: 'changed after signing' })
  const cases: Array<[string, () => Record<string, string>, RegExp]> = [
    ['a bad signature', () => ({ amount: '21000', nostr: JSON.stringify(tampered()) }), /signature/],
    [
      'two p tags',
      () => ({
        amount: '21000',
        nostr: JSON.stringify(
          zapRequest({
            tags: [
              ['p', recipient],
              ['p', getPublicKey(generateSecretKey())]
            ]
          })
        )
      }),
      /exactly one p/
    ],
    [
      'an amount tag that is not the amount',
      () => ({ amount: '22000', nostr: JSON.stringify(zapRequest()) }),
      /amount/
    ],
    [
      'an oversize request',
      () => ({ amount: '21000', nostr: JSON.stringify(zapRequest({ content: 'x'.repeat(20_000) })) }),
      /KiB/
    ],
    ['another kind', () => ({ amount: '21000', nostr: JSON.stringify(zapRequest({ kind: 1 })) }), /kind 1/],
    ['no tags', () => ({ amount: '21000', nostr: JSON.stringify(zapRequest({ tags: [] })) }), /tags/],
    ['not JSON', () => ({ amount: '21000', nostr: '{"kind":' }), /not JSON/],
    [
      'a P that is not the sender',
      () => ({
        amount: '21000',
        nostr: JSON.stringify(
          zapRequest({
            tags: [
              ['p', recipient],
              ['P', recipient]
            ]
          })
        )
      }),
      /P tag/
    ],
    [
      'a p whose profile does not name this address',
      () => ({
        amount: '21000',
        nostr: JSON.stringify(zapRequest({ tags: [['p', getPublicKey(generateSecretKey())]] }))
      }),
      /lud16/
    ],
    ['an amount out of range', () => ({ amount: '999', nostr: JSON.stringify(zapRequest({}, 999)) }), /amount/]
  ]

  test.each(cases)('%s', async (_, params, reason) => {
    const issued = invoicesOf('provider').length
    const answer = await callback(params())
    expect(answer).toMatchObject({ status: 'ERROR', reason: expect.stringMatching(reason) })
    expect(answer.pr).toBeUndefined()
    expect(invoicesOf('provider').length).toBe(issued)
  })

  test('two nostr parameters', async () => {
    const issued = invoicesOf('provider').length
    const url = new URL(`${net.devnet.lnurl!.url}/lnurlp/provider/callback?amount=21000`)
    url.searchParams.append('nostr', JSON.stringify(zapRequest()))
    url.searchParams.append('nostr', JSON.stringify(zapRequest()))
    const answer = (await (await fetch(url)).json()) as Record<string, unknown>
    expect(answer).toMatchObject({ status: 'ERROR', reason: expect.stringMatching(/more than once/) })
    expect(invoicesOf('provider').length).toBe(issued)
  })

  test('an unknown account or path', async () => {
    expect(await callback({ amount: '21000' }, 'nobody')).toMatchObject({ status: 'ERROR', reason: /nobody/ })
    const res = await fetch(`${net.devnet.lnurl!.url}/.well-known/lnurlp/..%2Fwallet`)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ status: 'ERROR' })
  })
})

test('an unpaid zap invoice, and a paid plain LNURL-pay one, publish no receipt', async () => {
  const unpaid = await callback({ amount: '5000', nostr: JSON.stringify(zapRequest({}, 5000)) })
  expect(typeof unpaid.pr).toBe('string')
  const plain = await invoiceFromLightningAddress(lud16, 7000, '')
  await net.devnet.wallet.payInvoice('customer', plain.invoice)
  // A zap paid after both: once its receipt is on the relay, any receipt for the others would be too.
  const last = await net.zap({
    senderSecretKey: senderKey,
    payer: 'customer',
    recipient: 'provider',
    recipientPubkey: recipient,
    sats: 3
  })
  const receipts = await pool.query({ kinds: [9735], '#p': [recipient] })
  const bolt11s = receipts.map((r) => r.tags.find((t) => t[0] === 'bolt11')?.[1])
  expect(bolt11s).toContain(last.tags.find((t) => t[0] === 'bolt11')?.[1])
  expect(bolt11s).not.toContain(unpaid.pr)
  expect(bolt11s).not.toContain(plain.invoice)
  expect(net.devnet.wallet.lookupInvoice('provider', { invoice: unpaid.pr as string }).state).toBe('pending')
  expect(net.devnet.wallet.lookupInvoice('provider', { invoice: plain.invoice }).state).toBe('settled')
})

test('a zap invoice paid after a wallet restart still gets its receipt', async () => {
  const request = zapRequest({}, 4000)
  const { pr } = await callback({ amount: '4000', nostr: JSON.stringify(request) })
  await net.stop('wallet')
  await net.start('wallet')
  let seen!: (event: Event) => void
  const receipt = new Promise<Event>((resolve) => (seen = resolve))
  const sub = pool.subscribe({ kinds: [9735], '#p': [recipient] }, (event) => {
    if (event.tags.some((t) => t[0] === 'bolt11' && t[1] === pr)) seen(event)
  })
  await sub.ready
  await net.devnet.wallet.payInvoice('customer', pr as string)
  const zap = validateZapReceipt(await receipt, { recipient, lnurlNostrPubkey: net.devnet.lnurl!.nostrPubkey })
  sub.close()
  expect(zap.zapRequestId).toBe(request.id)
})
