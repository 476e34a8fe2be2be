// A hostile review of the wallet client 2020117-job pays through: a wallet that answers pay_invoice
// with a result but no usable preimage (some custodial wallets do, for internal transfers) may well
// have paid. Saying "failed" would make the summary say less than the wallet paid; it is looked up.
// Against a scripted stand-in for @getalby/sdk's NWCClient.

import { expect, test } from 'vitest'
import { loadNwcSdk, NwcWallet, WalletError } from '@2020117/wallet'

const PREIMAGE = 'ab'.repeat(32)
const HASH = 'cd'.repeat(32)

function staged(pay: () => unknown, lookup: () => unknown) {
  const calls = { pay: 0, lookup: 0 }
  const client = {
    walletPubkey: 'ee'.repeat(32),
    relayUrls: ['ws://127.0.0.1:1'],
    payInvoice: () => (calls.pay++, Promise.resolve().then(pay)),
    lookupInvoice: () => (calls.lookup++, Promise.resolve().then(lookup)),
    getInfo: () => Promise.reject(new Error('unused')),
    close: () => {}
  }
  return { calls, client: client as unknown as Parameters<typeof NwcWallet.withClient>[0] }
}

const opts = { retryMs: { first: 5, max: 20 } }

test('a pay_invoice answered without a preimage is looked up, not called failed: settled, it is paid (with its fee), once', async () => {
  const { calls, client } = staged(
    () => ({ preimage: '' }),
    () => ({ state: 'settled', preimage: PREIMAGE, fees_paid: 2, settled_at: 1 })
  )
  const wallet = await NwcWallet.withClient(client, opts)
  expect(await wallet.pay('lnbcrt1', HASH, { until: Date.now() + 10_000 })).toEqual({ preimage: PREIMAGE, feesMsat: 2 })
  expect(calls.pay).toBe(1)
})

test('a pay_invoice answered without a preimage that the wallet never confirms is pending, never failed, never sent again', async () => {
  const { calls, client } = staged(
    () => ({}),
    () => ({ state: 'pending' })
  )
  const wallet = await NwcWallet.withClient(client, opts)
  const err = await wallet.pay('lnbcrt1', HASH, { until: Date.now() + 200 }).then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(WalletError)
  expect((err as WalletError).code).toBe('PAYMENT_PENDING')
  expect(calls.pay).toBe(1)
})

test('a pay_invoice reply that cannot be read is looked up, not called failed: the wallet answered, and may have paid', async () => {
  const sdk = await loadNwcSdk()
  for (const unreadable of [
    () => {
      throw new sdk.Nip47ResponseDecodingError('failed to deserialize response', 'INTERNAL')
    },
    () => {
      throw new sdk.Nip47ResponseValidationError('response from NWC failed validation: null', 'INTERNAL')
    }
  ]) {
    const { calls, client } = staged(unreadable, () => ({ state: 'settled', preimage: PREIMAGE, settled_at: 1 }))
    const wallet = await NwcWallet.withClient(client, opts)
    expect(await wallet.pay('lnbcrt1', HASH, { until: Date.now() + 10_000 })).toEqual({
      preimage: PREIMAGE,
      feesMsat: 0
    })
    expect(calls.pay).toBe(1)
  }
})
