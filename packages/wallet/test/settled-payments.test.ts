// NwcWallet.findSettledPayment: the wallet's settled outgoing payments, read page by page through
// NIP-47 list_transactions, the wallet's word bounded (entries without a usable hash and preimage
// are skipped). Against a scripted stand-in for @getalby/sdk's NWCClient.

import { expect, test } from 'vitest'
import { NwcWallet, WalletError } from '@2020117/wallet'

const hex = (c: string) => c.repeat(64)

function tx(n: number, extra: Record<string, unknown> = {}) {
  return {
    type: 'outgoing',
    state: 'settled',
    invoice: `lnbcrt${n}`,
    description: `payment ${n}`,
    payment_hash: hex((n % 10).toString()),
    preimage: hex('a'),
    amount: 1000 * n,
    settled_at: 1_700_000_000 + n,
    ...extra
  }
}

function staged(all: unknown[], fail?: () => never) {
  const asked: Array<Record<string, unknown>> = []
  const client = {
    walletPubkey: 'ee'.repeat(32),
    relayUrls: ['ws://127.0.0.1:1'],
    listTransactions: async (req: { limit: number; offset: number }) => {
      asked.push(req)
      if (fail) fail()
      return { transactions: all.slice(req.offset, req.offset + req.limit), total_count: all.length }
    },
    close: () => {}
  }
  return { asked, client: client as unknown as Parameters<typeof NwcWallet.withClient>[0] }
}

test('pages through outgoing transactions until one is accepted, and returns it as a settled payment', async () => {
  const all = Array.from({ length: 120 }, (_, i) => tx(i + 1))
  const { asked, client } = staged(all)
  const wallet = await NwcWallet.withClient(client)
  const found = await wallet.findSettledPayment((p) => p.description === 'payment 73')
  expect(found).toEqual({
    invoice: 'lnbcrt73',
    description: 'payment 73',
    paymentHash: hex('3'),
    preimage: hex('a'),
    amountMsat: 73_000,
    settledAt: 1_700_000_073
  })
  expect(asked.map((a) => [a.type, a.offset, a.limit])).toEqual([
    ['outgoing', 0, 50],
    ['outgoing', 50, 50]
  ])
})

test('skips what is not a settled outgoing payment with a 64 hex hash and preimage; null when none is accepted', async () => {
  const bad = [
    tx(1, { type: 'incoming' }),
    tx(2, { state: 'pending', settled_at: 0 }),
    tx(3, { preimage: '' }),
    tx(4, { payment_hash: 'xyz' }),
    tx(5, { invoice: 'l'.repeat(9000) }),
    null,
    'junk'
  ]
  const seen: string[] = []
  const { asked, client } = staged(bad)
  const wallet = await NwcWallet.withClient(client)
  expect(await wallet.findSettledPayment((p) => (seen.push(p.invoice), false))).toBeNull()
  expect(seen).toEqual([])
  expect(asked).toHaveLength(1) // a short page is the last one
})

test('reads at most `max` transactions', async () => {
  const all = Array.from({ length: 500 }, (_, i) => tx(i + 1))
  const { asked, client } = staged(all)
  const wallet = await NwcWallet.withClient(client)
  let read = 0
  expect(await wallet.findSettledPayment(() => (read++, false), { max: 120 })).toBeNull()
  expect(read).toBe(120)
  expect(asked.map((a) => a.limit)).toEqual([50, 50, 20])
})

test('a wallet that refuses list_transactions is a typed wallet error', async () => {
  const { client } = staged([], () => {
    throw Object.assign(new Error('not implemented'), { code: 'NOT_IMPLEMENTED' })
  })
  const wallet = await NwcWallet.withClient(client)
  const err = await wallet.findSettledPayment(() => true).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(WalletError)
  expect((err as WalletError).message).toMatch(/NOT_IMPLEMENTED/)
})
