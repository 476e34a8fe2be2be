// The customer's wallet client through a NIP-47 outage (issue 10, item 22): a relay that refuses
// connections or a reply that never comes is not a failed payment. Within the caller's deadline the
// payment is looked up with backoff, a request that may have reached the wallet is never sent
// again, and when time is up the error says what happened. The wallet is a scripted stand-in for
// @getalby/sdk's NWCClient that throws the SDK's own error classes.

import { expect, test } from 'vitest'
import { NwcWallet, WalletError, loadNwcSdk } from '@2020117/wallet'

const sdk = await loadNwcSdk()
const PREIMAGE = 'ab'.repeat(32)
const HASH = 'cd'.repeat(32)

type Step = () => unknown
const refused = () => {
  throw new sdk.Nip47NetworkError('Failed to connect to ws://127.0.0.1:1', 'OTHER')
}
const noReply = () => {
  throw new sdk.Nip47ReplyTimeoutError('reply timeout: event 00', 'INTERNAL')
}
const notFound = () => {
  throw new sdk.Nip47WalletError('invoice not found', 'NOT_FOUND')
}

/** A client that answers each call with the next step of its script (the last one repeats). */
function staged(script: { pay: Step[]; lookup?: Step[]; info?: Step[] }) {
  const calls = { pay: 0, lookup: 0 }
  const next = (steps: Step[], n: number) => Promise.resolve().then(steps[Math.min(n, steps.length - 1)] as Step)
  const client = {
    walletPubkey: 'ee'.repeat(32),
    relayUrls: ['ws://127.0.0.1:1'],
    payInvoice: () => next(script.pay, calls.pay++),
    lookupInvoice: () => next(script.lookup ?? [notFound], calls.lookup++),
    getInfo: () => next(script.info ?? [refused], 0),
    close: () => {}
  }
  return { calls, client: client as unknown as Parameters<typeof NwcWallet.withClient>[0] }
}

const opts = { retryMs: { first: 5, max: 20 } }

async function failure(p: Promise<unknown>): Promise<WalletError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(WalletError)
  return err as WalletError
}

test('a relay that refuses connections is waited out: the payment goes out once the wallet is back, and is paid once', async () => {
  const { calls, client } = staged({ pay: [refused, refused, () => ({ preimage: PREIMAGE, fees_paid: 0 })], lookup: [refused, notFound] })
  const wallet = await NwcWallet.withClient(client, opts)
  const paid = await wallet.pay('lnbcrt1', HASH, { until: Date.now() + 30_000 })
  expect(paid).toEqual({ preimage: PREIMAGE, feesMsat: 0 })
  // Each pay_invoice before the last provably never left: no relay connection.
  expect(calls.pay).toBe(3)
})

test('a pay_invoice that got no reply is never sent again: it is looked up, through the outage, until it settles', async () => {
  const settled = () => ({ state: 'settled', preimage: PREIMAGE, fees_paid: 3, settled_at: 1 })
  const { calls, client } = staged({ pay: [noReply], lookup: [refused, refused, () => ({ state: 'pending' }), settled] })
  const wallet = await NwcWallet.withClient(client, opts)
  expect(await wallet.pay('lnbcrt1', HASH, { until: Date.now() + 30_000 })).toEqual({ preimage: PREIMAGE, feesMsat: 3 })
  expect(calls.pay).toBe(1)
  expect(calls.lookup).toBe(4)
})

test('an outage that outlasts the deadline ends in an error that says what happened: no connection, or no reply', async () => {
  const down = staged({ pay: [refused], lookup: [refused] })
  const e1 = await failure((await NwcWallet.withClient(down.client, opts)).pay('lnbcrt1', HASH, { until: Date.now() + 100 }))
  expect(e1.code).toBe('WALLET_UNREACHABLE')
  expect(e1.message).toMatch(/could not connect to the wallet's relay ws:\/\/127\.0\.0\.1:1/)
  expect(e1.message).not.toMatch(/no reply/)

  const silent = staged({ pay: [noReply], lookup: [refused] })
  const e2 = await failure((await NwcWallet.withClient(silent.client, opts)).pay('lnbcrt1', HASH, { until: Date.now() + 100 }))
  expect(e2.code).toBe('PAYMENT_PENDING')
  expect(silent.calls.pay).toBe(1)
})

test('a payment the wallet reports failed is not sent again', async () => {
  const { calls, client } = staged({ pay: [noReply], lookup: [() => ({ state: 'failed' })] })
  const e = await failure((await NwcWallet.withClient(client, opts)).pay('lnbcrt1', HASH, { until: Date.now() + 30_000 }))
  expect(e.code).toBe('PAYMENT_FAILED')
  expect(calls.pay).toBe(1)
})

test('the routing fee pay_invoice reports is returned with the preimage', async () => {
  const { client } = staged({ pay: [() => ({ preimage: PREIMAGE, fees_paid: 1234 })] })
  expect(await (await NwcWallet.withClient(client, opts)).pay('lnbcrt1', HASH)).toEqual({ preimage: PREIMAGE, feesMsat: 1234 })
})

test('any other request says "could not connect" for a refused connection, not "no reply"', async () => {
  const { client } = staged({ pay: [refused], info: [refused] })
  const e = await failure((await NwcWallet.withClient(client, opts)).info())
  expect(e.code).toBe('WALLET_UNREACHABLE')
  expect(e.message).toMatch(/get_info could not connect/)
})
