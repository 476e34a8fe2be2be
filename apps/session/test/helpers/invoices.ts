// Invoices for misbehaving-provider tests. Where a test wants to prove that a customer check is
// what stopped a payment, the invoice comes from the devnet's own wallet, so that without the check
// the customer's wallet could actually pay it. Invoices the devnet wallet cannot pay (another
// network, another node key, no amount) are signed with the bolt11 library.

import { createHash, randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import type { TestNetwork } from '@2020117/testkit'
// bolt11 is a dependency of @2020117/wallet, not of this app: borrow that package's test helper and
// resolve the library from there.
import {
  NETWORKS,
  NODE_A,
  NODE_B,
  makeInvoice as signInvoice,
  type MadeInvoice
} from '../../../../packages/wallet/test/invoices.js'

export { NODE_A, NODE_B, signInvoice, type MadeInvoice }

const bolt11 = createRequire(new URL('../../../../packages/wallet/package.json', import.meta.url))('bolt11') as {
  encode(data: Record<string, unknown>): unknown
  sign(encoded: unknown, key: string): { paymentRequest?: string }
}

export interface PayableInvoice {
  bolt11: string
  paymentHash: string
  /** Unix seconds, as the wallet recorded it. */
  expiresAt: number
}

/** An invoice the devnet wallet issued for its `provider` account: the customer's wallet can pay it. */
export async function devnetInvoice(
  net: TestNetwork,
  amountMsat: number,
  opts: { expirySecs?: number; description?: string } = {}
): Promise<PayableInvoice> {
  const tx = await net.devnet.wallet.makeInvoice('provider', {
    amountMsat,
    description: opts.description ?? 'fake provider tick',
    expirySecs: opts.expirySecs ?? 600
  })
  return { bolt11: tx.invoice, paymentHash: tx.payment_hash, expiresAt: tx.expires_at }
}

/**
 * A devnet-wallet invoice that has really expired: issued with a 1 s expiry, then waited for with
 * one timer set to the exact remaining time, and confirmed expired by the wallet itself.
 */
export async function expiredDevnetInvoice(net: TestNetwork, amountMsat: number): Promise<PayableInvoice> {
  const inv = await devnetInvoice(net, amountMsat, { expirySecs: 1 })
  // The wallet's clock is whole seconds: expired once Date.now() >= expiresAt * 1000. Bounded: the
  // first wait normally suffices; a second covers a timer firing a hair early.
  for (let i = 0; i < 3; i++) {
    const state = net.devnet.wallet.lookupInvoice('provider', { paymentHash: inv.paymentHash }).state
    if (state === 'expired') return inv
    const remaining = inv.expiresAt * 1000 - Date.now()
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, remaining + 1)))
  }
  throw new Error('the devnet wallet never saw the invoice expire')
}

/** A regtest invoice with no amount at all (`lnbcrt1…`), or with an explicit zero amount. */
export function amountlessInvoice(opts: { zero?: boolean; key?: string } = {}): MadeInvoice {
  const preimage = randomBytes(32)
  const paymentHash = createHash('sha256').update(preimage).digest('hex')
  const encoded = bolt11.encode({
    network: NETWORKS.regtest,
    ...(opts.zero ? { millisatoshis: '0' } : {}),
    timestamp: Math.floor(Date.now() / 1000),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'description', data: '2020117 test tick' },
      { tagName: 'expire_time', data: 600 }
    ]
  })
  const signed = bolt11.sign(encoded, opts.key ?? NODE_A)
  return { bolt11: signed.paymentRequest as string, paymentHash, preimage }
}

/**
 * A regtest invoice with one route hint (an `r` field) whose single hop charges `feeBaseMsat`: what
 * a provider's private channel can ask on top of the tick. The devnet wallet cannot pay it.
 */
export function hintedInvoice(amountMsat: number, feeBaseMsat: number): MadeInvoice {
  const preimage = randomBytes(32)
  const paymentHash = createHash('sha256').update(preimage).digest('hex')
  const encoded = bolt11.encode({
    network: NETWORKS.regtest,
    millisatoshis: String(amountMsat),
    timestamp: Math.floor(Date.now() / 1000),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'description', data: '2020117 test tick' },
      { tagName: 'expire_time', data: 600 },
      {
        tagName: 'routing_info',
        data: [
          {
            pubkey: '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
            short_channel_id: '0102030405060708',
            fee_base_msat: feeBaseMsat,
            fee_proportional_millionths: 0,
            cltv_expiry_delta: 40
          }
        ]
      }
    ]
  })
  const signed = bolt11.sign(encoded, NODE_A)
  return { bolt11: signed.paymentRequest as string, paymentHash, preimage }
}
