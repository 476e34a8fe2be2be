// Invoices for misbehaving-provider tests. Where a test wants to prove that a customer check is
// what stopped a payment, the invoice comes from the devnet's own wallet, so that without the check
// the customer's wallet could actually pay it. Invoices the devnet wallet cannot pay (another
// network, another node key, no amount) are signed by @2020117/testkit (signInvoice and the rest).

import type { TestNetwork } from '@2020117/testkit'

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
