// A Nostr Wallet Connect (NIP-47) client for the apps, on @getalby/sdk's NWCClient. It adds the
// habits money needs: a payment that may have reached the wallet is looked up, never paid again; an
// outage is waited out within the caller's deadline, and said as what it was (no connection, no
// reply); the fee the wallet reports is returned; wallet error codes become typed errors; and the
// connection secret is kept where no log line can reach it.

import type { NWCClient } from '@getalby/sdk/nwc'
import { WebSocket as WsWebSocket } from 'ws'
import { WalletError } from './errors.js'
import { cacheConversationKeys } from './conversation-key.js'
import { answerRelayAuth } from './relay-auth.js'
import { addWalletLogSecret, divertSdkConsole, walletWarn } from './sdk-log.js'

export { setWalletLogSink, type WalletLogSink } from './sdk-log.js'

type NwcModule = typeof import('@getalby/sdk/nwc')
let sdk: Promise<NwcModule> | null = null

/**
 * The SDK bundles its own nostr-tools, which captures `globalThis.WebSocket` when the module is
 * evaluated; Node 20 has none. So the global is set first and the SDK imported only afterwards.
 * Its console output goes to the log sink (setWalletLogSink), never to the terminal.
 */
export function loadNwcSdk(): Promise<NwcModule> {
  const global = globalThis as { WebSocket?: unknown }
  global.WebSocket ??= WsWebSocket
  divertSdkConsole()
  sdk ??= import('@getalby/sdk/nwc')
  return sdk
}

export interface NwcWalletOptions {
  /** How long to wait for pay_invoice before asking lookup_invoice instead. */
  payTimeoutMs?: number
  /** How long to wait for any other request. */
  requestTimeoutMs?: number
  /** Backoff between lookups while the wallet is unreachable or the payment pending. */
  retryMs?: { first: number; max: number }
}

export interface WalletInfo {
  alias: string | null
  network: string | null
  methods: string[]
}

export interface PaidInvoice {
  preimage: string
  /** The routing fee the wallet reported (pay_invoice `fees_paid`), in msat. */
  feesMsat: number
}

export interface MadeInvoice {
  invoice: string
  paymentHash: string
}

/** An outgoing payment the wallet says settled (NIP-47 list_transactions), with the preimage it revealed. */
export interface SettledPayment {
  invoice: string
  /** The description the wallet reports (it may be empty: the invoice's own is the one to trust). */
  description: string
  paymentHash: string
  preimage: string
  amountMsat: number
  /** Unix seconds. */
  settledAt: number
}

/** How many transactions one list_transactions page asks for, and the most `settledPayments` reads. */
const LIST_PAGE = 50
const MAX_LISTED = 1000
/** Longer than any BOLT #11 invoice or NIP-47 description a wallet has reason to send. */
const MAX_LISTED_INVOICE_CHARS = 8192
const MAX_LISTED_DESCRIPTION_CHARS = 1024

/** The part of NWCClient this wallet uses. */
export type NwcClientLike = Pick<NWCClient, 'payInvoice' | 'lookupInvoice' | 'getInfo' | 'close'> & {
  walletPubkey: string
  relayUrls: string[]
}

export class NwcWallet {
  readonly walletPubkey: string
  readonly relays: string[]
  private readonly client: NWCClient
  private readonly secret: string
  private readonly payTimeoutMs: number
  private readonly requestTimeoutMs: number
  private readonly retryMs: { first: number; max: number }
  private readonly sdk: NwcModule
  private infoAsked: Promise<WalletInfo> | null = null

  private constructor(sdk: NwcModule, client: NWCClient, opts: NwcWalletOptions) {
    this.sdk = sdk
    this.client = client
    this.walletPubkey = client.walletPubkey
    this.relays = [...client.relayUrls]
    this.secret = client.secret ?? ''
    this.payTimeoutMs = opts.payTimeoutMs ?? 60_000
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000
    this.retryMs = opts.retryMs ?? { first: 500, max: 5000 }
  }

  /** @internal A wallet over any NWCClient-shaped object: for tests that stage wallet outages. */
  static async withClient(client: NwcClientLike, opts: NwcWalletOptions = {}): Promise<NwcWallet> {
    return new NwcWallet(await loadNwcSdk(), client as NWCClient, opts)
  }

  static async connect(uri: string, opts: NwcWalletOptions = {}): Promise<NwcWallet> {
    const sdk = await loadNwcSdk()
    if (!/^nostr\+walletconnect:\/\//i.test(uri))
      throw WalletError.NWC_INVALID_URI('it does not start with nostr+walletconnect://')
    let client: NWCClient
    try {
      client = new sdk.NWCClient({ nostrWalletConnectUrl: uri })
    } catch (err) {
      throw WalletError.NWC_INVALID_URI(redactUri((err as Error).message))
    }
    if (!client.secret || !/^[0-9a-f]{64}$/i.test(client.secret))
      throw WalletError.NWC_INVALID_URI('the secret is missing or not 64 hex digits')
    addWalletLogSecret(client.secret)
    if (client.relayUrls.length === 0) throw WalletError.NWC_INVALID_URI('it names no relay')
    answerRelayAuth(client.pool, client.secret, walletWarn)
    cacheConversationKeys(client, client.secret)
    return new NwcWallet(sdk, client, opts)
  }

  /** Values a logger must redact. */
  secrets(): string[] {
    return this.secret ? [this.secret] : []
  }

  /** The URI without its secret, for display. */
  get displayUri(): string {
    return `nostr+walletconnect://${this.walletPubkey}?relay=${this.relays.map(encodeURIComponent).join('&relay=')}`
  }

  /**
   * What the wallet says of itself. It does not change while the wallet is connected, so callers
   * asking at once (the network check beside the reputation read) share one request; a failed one
   * is asked again.
   */
  info(): Promise<WalletInfo> {
    if (!this.infoAsked) {
      const asked = this.request('get_info', () => this.client.getInfo()).then((info): WalletInfo => ({
        alias: info.alias ?? null,
        network: info.network ?? null,
        methods: info.methods ?? []
      }))
      asked.catch(() => {
        if (this.infoAsked === asked) this.infoAsked = null
      })
      this.infoAsked = asked
    }
    return this.infoAsked
  }

  /** The balance in msat, or null where the connection may not read it. */
  async balanceMsat(): Promise<number | null> {
    try {
      return (await this.request('get_balance', () => this.client.getBalance())).balance
    } catch (err) {
      if (
        (err as { nip47Code?: string }).nip47Code === 'RESTRICTED' ||
        (err as { nip47Code?: string }).nip47Code === 'NOT_IMPLEMENTED'
      )
        return null
      throw err
    }
  }

  async makeInvoice(amountMsat: number, description: string, expirySecs: number): Promise<MadeInvoice> {
    try {
      const tx = await this.request('make_invoice', () =>
        this.client.makeInvoice({ amount: amountMsat, description, expiry: expirySecs })
      )
      if (!tx.invoice || !/^[0-9a-f]{64}$/.test(tx.payment_hash))
        throw new Error('the wallet answered without an invoice')
      return { invoice: tx.invoice, paymentHash: tx.payment_hash }
    } catch (err) {
      if (err instanceof WalletError && err.code !== 'PAYMENT_FAILED') throw err
      throw WalletError.INVOICE_UNAVAILABLE((err as Error).message)
    }
  }

  /** Whether an invoice this wallet issued or paid is settled, and its preimage if so. */
  async lookup(paymentHash: string): Promise<{ settled: boolean; preimage: string | null }> {
    const tx = await this.request('lookup_invoice', () => this.client.lookupInvoice({ payment_hash: paymentHash }))
    const settled = tx.state === 'settled' || (tx.settled_at ?? 0) > 0
    return { settled, preimage: settled && tx.preimage ? tx.preimage : null }
  }

  /**
   * Outgoing payments that settled with a preimage, newest first, read page by page until `accept`
   * returns true for one (that one is returned) or `max` transactions were read (null then). The
   * wallet's word, bounded: entries without a 64 hex hash and preimage or with oversized fields are
   * skipped. A wallet without list_transactions answers NOT_IMPLEMENTED (a typed PAYMENT_FAILED).
   */
  async findSettledPayment(
    accept: (payment: SettledPayment) => boolean,
    opts: { max?: number; from?: number } = {}
  ): Promise<SettledPayment | null> {
    const max = Math.min(opts.max ?? MAX_LISTED, MAX_LISTED)
    for (let offset = 0; offset < max; offset += LIST_PAGE) {
      const limit = Math.min(LIST_PAGE, max - offset)
      const page = await this.request('list_transactions', () =>
        this.client.listTransactions({ type: 'outgoing', limit, offset, ...(opts.from ? { from: opts.from } : {}) })
      )
      const transactions = Array.isArray(page?.transactions) ? page.transactions.slice(0, limit) : []
      for (const tx of transactions) {
        const payment = settledPaymentOf(tx)
        if (payment && accept(payment)) return payment
      }
      if (transactions.length < limit) return null
    }
    return null
  }

  /**
   * Pays an invoice once, waiting out a wallet or relay outage until `until` (ms since the epoch):
   * the customer's paid time plus the grace. A request that may have reached the wallet is never
   * sent again: its payment is looked up, with backoff, until it settles, fails or time is up.
   * Only a request that provably never left (no relay connection) is sent again, and only after a
   * lookup shows the wallet does not hold the payment. Real wallets have a 60-90 s tail.
   */
  async pay(invoice: string, paymentHash: string, opts: { until?: number } = {}): Promise<PaidInvoice> {
    let last = await this.attemptPay(invoice)
    if ('preimage' in last) return last
    let delivered = last.delivered
    for (let delay = this.retryMs.first; ; delay = Math.min(delay * 2, this.retryMs.max)) {
      // A lookup waits no longer than the time left (at least 1 s), so an outage cannot hold us past it.
      const state = await this.paymentState(
        paymentHash,
        Math.min(this.requestTimeoutMs, Math.max(1000, (opts.until ?? 0) - Date.now()))
      )
      if (state.kind === 'settled') return state.paid
      if (state.kind === 'failed') throw WalletError.PAYMENT_FAILED('the wallet reports that the payment failed')
      const why = state.kind === 'unreachable' ? state.why : last.why
      if (Date.now() + delay > (opts.until ?? 0))
        throw delivered ? WalletError.PAYMENT_PENDING(why) : WalletError.WALLET_UNREACHABLE(why)
      await new Promise((resolve) => setTimeout(resolve, delay))
      if (delivered || state.kind === 'pending') continue
      last = await this.attemptPay(invoice)
      if ('preimage' in last) return last
      delivered = last.delivered
    }
  }

  /**
   * Settles a payment `pay` gave up on as PAYMENT_PENDING: looks it up (lookup_invoice only, never
   * pay_invoice) with backoff until `until`. The payment if the wallet says it settled; null if it is
   * still unknown then; throws PAYMENT_FAILED if the wallet says it failed. `onwait` hears each retry.
   */
  async settle(
    paymentHash: string,
    opts: { until: number; onwait?: (why: string, retryInMs: number) => void }
  ): Promise<PaidInvoice | null> {
    for (let delay = this.retryMs.first; ; delay = Math.min(delay * 2, this.retryMs.max)) {
      // Each lookup is short enough that progress is heard, and never runs past `until`.
      const wait = Math.min(this.requestTimeoutMs, SETTLE_LOOKUP_MS, Math.max(1000, opts.until - Date.now()))
      const state = await this.paymentState(paymentHash, wait)
      if (state.kind === 'settled') return state.paid
      if (state.kind === 'failed') throw WalletError.PAYMENT_FAILED('the wallet reports that the payment failed')
      if (Date.now() + delay > opts.until) return null
      const why =
        state.kind === 'unreachable'
          ? state.why
          : `the wallet says the payment is ${state.kind === 'pending' ? 'pending' : 'unknown to it'}`
      opts.onwait?.(why, delay)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }

  /** One pay_invoice request: paid, refused (throws), or an outage, saying whether it may have reached the wallet. */
  private async attemptPay(invoice: string): Promise<PaidInvoice | { delivered: boolean; why: string }> {
    try {
      const res = await withTimeout(this.client.payInvoice({ invoice }), this.payTimeoutMs)
      // An answer without a usable preimage is no failure (some wallets omit it): the wallet had the
      // request and may have paid, so it is looked up like a reply that never came.
      if (!res.preimage || !/^[0-9a-f]{64}$/i.test(res.preimage))
        return { delivered: true, why: 'the wallet answered pay_invoice without a preimage' }
      return { preimage: res.preimage.toLowerCase(), feesMsat: feesOf(res.fees_paid) }
    } catch (err) {
      // A reply that did not decrypt, parse or validate came from the wallet all the same: it may have paid.
      if (err instanceof this.sdk.Nip47ResponseDecodingError || err instanceof this.sdk.Nip47ResponseValidationError)
        return {
          delivered: true,
          why: `the wallet's pay_invoice reply could not be read (${redactUri(err.message).slice(0, 120)})`
        }
      const outage = this.outage(err, 'pay_invoice', this.payTimeoutMs)
      if (!outage) throw this.translate(err)
      return outage
    }
  }

  /** What the wallet knows of an outgoing payment; never throws. */
  private async paymentState(
    paymentHash: string,
    timeoutMs: number
  ): Promise<
    | { kind: 'settled'; paid: PaidInvoice }
    | { kind: 'pending' | 'failed' | 'unknown' }
    | { kind: 'unreachable'; why: string }
  > {
    try {
      const tx = await withTimeout(this.client.lookupInvoice({ payment_hash: paymentHash }), timeoutMs)
      if ((tx.state === 'settled' || (tx.settled_at ?? 0) > 0) && tx.preimage && /^[0-9a-f]{64}$/i.test(tx.preimage)) {
        return { kind: 'settled', paid: { preimage: tx.preimage.toLowerCase(), feesMsat: feesOf(tx.fees_paid) } }
      }
      return { kind: tx.state === 'failed' ? 'failed' : 'pending' }
    } catch (err) {
      const outage = this.outage(err, 'lookup_invoice', timeoutMs)
      if (outage) return { kind: 'unreachable', why: outage.why }
      // NOT_FOUND: the wallet never had this payment. Anything else says nothing either way.
      return { kind: 'unknown' }
    }
  }

  close(): void {
    this.client.close()
  }

  private async request<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(fn(), this.requestTimeoutMs)
    } catch (err) {
      const outage = this.outage(err, method, this.requestTimeoutMs)
      if (outage) throw WalletError.WALLET_UNREACHABLE(outage.why)
      throw this.translate(err)
    }
  }

  /**
   * A relay or wallet outage, said as what happened: no connection to the relay (the request never
   * left), the relay not taking it, or no reply in time (either may have reached the wallet).
   * Null for anything else: the wallet answered.
   */
  private outage(err: unknown, method: string, timeoutMs: number): { delivered: boolean; why: string } | null {
    const relays = this.relays.join(', ')
    if (err instanceof this.sdk.Nip47NetworkError)
      return { delivered: false, why: `${method} could not connect to the wallet's relay ${relays}` }
    if (err instanceof this.sdk.Nip47PublishTimeoutError)
      return { delivered: true, why: `the relay ${relays} did not confirm the ${method} request` }
    if (err instanceof TimeoutError || err instanceof this.sdk.Nip47TimeoutError) {
      return { delivered: true, why: `${method} got no reply in ${Math.round(timeoutMs / 1000)} s` }
    }
    if (err instanceof this.sdk.Nip47PublishError)
      return { delivered: true, why: `the relay ${relays} did not take the ${method} request` }
    return null
  }

  /** NIP-47 error codes to typed errors, without letting the SDK's text carry a secret along. */
  private translate(err: unknown): WalletError {
    if (err instanceof WalletError) return err
    const code = (err as { code?: string }).code ?? ''
    const message = redactUri((err as Error).message ?? String(err))
    let out: WalletError
    switch (code) {
      case 'INSUFFICIENT_BALANCE':
        out = WalletError.INSUFFICIENT_BALANCE(message)
        break
      case 'QUOTA_EXCEEDED':
        out = WalletError.QUOTA_EXCEEDED(message)
        break
      default:
        out = WalletError.PAYMENT_FAILED(code ? `${code}: ${message}` : message)
    }
    return Object.assign(out, { nip47Code: code || null })
  }
}

/** A list_transactions entry as a settled outgoing payment, or null when it is not one or not well formed. */
function settledPaymentOf(tx: unknown): SettledPayment | null {
  const t = tx as Record<string, unknown>
  if (!t || t.type !== 'outgoing' || !(t.state === 'settled' || Number(t.settled_at ?? 0) > 0)) return null
  const hex = (v: unknown) => (typeof v === 'string' && /^[0-9a-f]{64}$/i.test(v) ? v.toLowerCase() : null)
  const paymentHash = hex(t.payment_hash)
  const preimage = hex(t.preimage)
  if (!paymentHash || !preimage) return null
  if (typeof t.invoice !== 'string' || t.invoice.length === 0 || t.invoice.length > MAX_LISTED_INVOICE_CHARS)
    return null
  const description = typeof t.description === 'string' ? t.description.slice(0, MAX_LISTED_DESCRIPTION_CHARS) : ''
  const amountMsat = typeof t.amount === 'number' && Number.isSafeInteger(t.amount) && t.amount > 0 ? t.amount : 0
  const settledAt = typeof t.settled_at === 'number' && Number.isSafeInteger(t.settled_at) ? t.settled_at : 0
  return { invoice: t.invoice, description, paymentHash, preimage, amountMsat, settledAt }
}

/** The longest one lookup waits while a pending payment is settled, so that its progress is heard. */
const SETTLE_LOOKUP_MS = 10_000

class TimeoutError extends Error {}

/** A fee as reported: a non-negative number of msat, else 0 (wallets may omit it). */
function feesOf(fees: unknown): number {
  return typeof fees === 'number' && Number.isFinite(fees) && fees > 0
    ? Math.min(Math.ceil(fees), Number.MAX_SAFE_INTEGER)
    : 0
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`no reply in ${ms} ms`)), ms)
    })
  ])
}

function redactUri(text: string): string {
  return text.replace(/([?&]secret=)[^&\s]+/gi, '$1[redacted]')
}
