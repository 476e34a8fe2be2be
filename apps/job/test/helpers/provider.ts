// A small NIP-90 provider for 2020117-job's tests, written with @2020117/jobs and the devnet wallet:
// each test scripts what it sends (an honest offer, a lying one, a result from someone else…), so
// that the customer bin is judged against exactly that behaviour, by the wallet ledger. Its
// invoices are made by the devnet's `provider` account over NWC, so that every one of them is
// payable: a check of the customer's is what must stop a payment, never the wallet.

import { buildFeedback, buildResult, parseRequest, type JobRequest } from '@2020117/jobs'
import { npubOf, RelayPool } from '@2020117/nostr'
import { NwcWallet } from '@2020117/wallet'
import type { TestNetwork } from '@2020117/testkit'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'

export interface Invoice {
  bolt11: string
  paymentHash: string
}

export interface TestProvider {
  secretKey: Uint8Array
  pubkey: string
  npub: string
  pool: RelayPool
  wallet: NwcWallet
  /** The next request of the kind (already received ones first). */
  nextRequest(): Promise<JobRequest>
  /** An invoice of the provider account, for `amountMsat` (its description `test job` unless given). */
  invoice(amountMsat: number, expirySecs?: number, description?: string): Promise<Invoice>
  /** Publishes a payment-required feedback (the amount tag says `tagMsat`, by default the invoice's). */
  offer(
    request: JobRequest,
    amountMsat: number,
    opts?: { invoice?: Invoice; tagMsat?: number; key?: Uint8Array }
  ): Promise<Invoice>
  /** Resolves once the customer's payment of `invoice` is in the ledger and lookup_invoice says settled. */
  paid(invoice: Invoice): Promise<void>
  /** Publishes the result (plus `success`). */
  deliver(
    request: JobRequest,
    content: string,
    opts?: { amountMsat?: number; bolt11?: string; blob?: { sha256: string; mime: string } }
  ): Promise<Event>
  publish(event: Event): Promise<number>
  close(): Promise<void>
}

/** A provider of `kind` jobs on `net`. With `teardown` (e.g. vitest's afterAll), closed there, as the network is. */
export async function startProvider(
  net: TestNetwork,
  kind: number,
  opts: { teardown?: (close: () => Promise<void>) => void } = {}
): Promise<TestProvider> {
  const secretKey = generateSecretKey()
  const pubkey = getPublicKey(secretKey)
  const pool = new RelayPool([net.devnet.relay.url], { persistent: true })
  const wallet = await NwcWallet.connect(net.devnet.state.accounts.provider!.nwc_uri)
  const queue: JobRequest[] = []
  const waiting: Array<(r: JobRequest) => void> = []
  // A relay connection that drops (a missed ping under load) is dialled again and the subscription
  // reopened from its start: the same requests come again, and must not queue twice.
  const seen = new Set<string>()
  const sub = pool.subscribe({ kinds: [kind], since: Math.floor(Date.now() / 1000) - 5 }, (event) => {
    if (seen.has(event.id)) return
    seen.add(event.id)
    let request: JobRequest
    try {
      request = parseRequest(event, { secretKey })
    } catch {
      return
    }
    if (request.providers.length > 0 && !request.providers.includes(pubkey)) return
    const w = waiting.shift()
    if (w) w(request)
    else queue.push(request)
  })
  await sub.ready
  const settled = new Map<string, () => void>()
  const onPayment = (p: { paymentHash: string }) => settled.get(p.paymentHash)?.()
  net.devnet.wallet.on('payment', onPayment)
  const provider: TestProvider = {
    secretKey,
    pubkey,
    npub: npubOf(pubkey),
    pool,
    wallet,
    nextRequest: () => {
      const r = queue.shift()
      return r ? Promise.resolve(r) : new Promise((resolve) => waiting.push(resolve))
    },
    async invoice(amountMsat, expirySecs = 600, description = 'test job') {
      const made = await wallet.makeInvoice(amountMsat, description, expirySecs)
      return { bolt11: made.invoice, paymentHash: made.paymentHash }
    },
    async offer(request, amountMsat, opts = {}) {
      const inv = opts.invoice ?? (await provider.invoice(amountMsat))
      const tag = opts.tagMsat ?? amountMsat
      await pool.publish(
        buildFeedback(
          request,
          { status: 'payment-required', amountMsat: tag, bolt11: inv.bolt11 },
          opts.key ?? secretKey
        )
      )
      return inv
    },
    async paid(inv) {
      await new Promise<void>((resolve) => {
        settled.set(inv.paymentHash, resolve)
        if (net.devnet.wallet.lookupInvoice('provider', { paymentHash: inv.paymentHash }).state === 'settled') resolve()
      })
      const state = await wallet.lookup(inv.paymentHash)
      if (!state.settled) throw new Error('lookup_invoice does not show the payment settled')
    },
    async deliver(request, content, opts = {}) {
      const result = buildResult(request, { content, ...opts }, secretKey)
      await pool.publish(result)
      await pool.publish(buildFeedback(request, { status: 'success' }, secretKey))
      return result
    },
    publish: (event) => pool.publish(event),
    async close() {
      net.devnet.wallet.off('payment', onPayment)
      sub.close()
      pool.close()
      wallet.close()
    }
  }
  opts.teardown?.(() => provider.close())
  return provider
}

/** A job event signed by `secretKey` with tags of our choosing: for answers no honest builder writes. */
export function signed(secretKey: Uint8Array, kind: number, tags: string[][], content = ''): Event {
  return finalizeEvent({ kind, created_at: Math.floor(Date.now() / 1000), tags, content }, secretKey)
}
