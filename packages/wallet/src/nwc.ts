// A Nostr Wallet Connect (NIP-47) client for the apps, on @getalby/sdk's NWCClient. It adds the
// habits money needs: a payment that times out is looked up, never paid again; wallet error codes
// become typed errors; and the connection secret is kept where no log line can reach it.

import type { NWCClient } from '@getalby/sdk/nwc'
import { WebSocket as WsWebSocket } from 'ws'
import { WalletError } from './errors.js'
import { addWalletLogSecret, divertSdkConsole } from './sdk-log.js'

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
}

export interface WalletInfo {
  alias: string | null
  network: string | null
  methods: string[]
}

export interface MadeInvoice {
  invoice: string
  paymentHash: string
}

export class NwcWallet {
  readonly walletPubkey: string
  readonly relays: string[]
  private readonly client: NWCClient
  private readonly secret: string
  private readonly payTimeoutMs: number
  private readonly requestTimeoutMs: number
  private readonly sdk: NwcModule

  private constructor(sdk: NwcModule, client: NWCClient, opts: NwcWalletOptions) {
    this.sdk = sdk
    this.client = client
    this.walletPubkey = client.walletPubkey
    this.relays = [...client.relayUrls]
    this.secret = client.secret ?? ''
    this.payTimeoutMs = opts.payTimeoutMs ?? 60_000
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000
  }

  static async connect(uri: string, opts: NwcWalletOptions = {}): Promise<NwcWallet> {
    const sdk = await loadNwcSdk()
    if (!/^nostr\+walletconnect:\/\//i.test(uri)) throw WalletError.NWC_INVALID_URI('it does not start with nostr+walletconnect://')
    let client: NWCClient
    try {
      client = new sdk.NWCClient({ nostrWalletConnectUrl: uri })
    } catch (err) {
      throw WalletError.NWC_INVALID_URI(redactUri((err as Error).message))
    }
    if (!client.secret || !/^[0-9a-f]{64}$/i.test(client.secret)) throw WalletError.NWC_INVALID_URI('the secret is missing or not 64 hex digits')
    addWalletLogSecret(client.secret)
    if (client.relayUrls.length === 0) throw WalletError.NWC_INVALID_URI('it names no relay')
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

  async info(): Promise<WalletInfo> {
    const info = await this.request('get_info', () => this.client.getInfo())
    return { alias: info.alias ?? null, network: info.network ?? null, methods: info.methods ?? [] }
  }

  /** The balance in msat, or null where the connection may not read it. */
  async balanceMsat(): Promise<number | null> {
    try {
      return (await this.request('get_balance', () => this.client.getBalance())).balance
    } catch (err) {
      if ((err as { nip47Code?: string }).nip47Code === 'RESTRICTED' || (err as { nip47Code?: string }).nip47Code === 'NOT_IMPLEMENTED') return null
      throw err
    }
  }

  async makeInvoice(amountMsat: number, description: string, expirySecs: number): Promise<MadeInvoice> {
    try {
      const tx = await this.request('make_invoice', () => this.client.makeInvoice({ amount: amountMsat, description, expiry: expirySecs }))
      if (!tx.invoice || !/^[0-9a-f]{64}$/.test(tx.payment_hash)) throw new Error('the wallet answered without an invoice')
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
   * Pays an invoice once. If the wallet does not answer in time the payment may still settle
   * (real wallets have a 60-90 s tail), so it asks lookup_invoice instead of paying again.
   */
  async pay(invoice: string, paymentHash: string): Promise<{ preimage: string }> {
    try {
      const res = await withTimeout(this.client.payInvoice({ invoice }), this.payTimeoutMs)
      if (!res.preimage || !/^[0-9a-f]{64}$/i.test(res.preimage)) throw WalletError.PAYMENT_FAILED('the wallet returned no preimage')
      return { preimage: res.preimage.toLowerCase() }
    } catch (err) {
      if (!(err instanceof TimeoutError) && !this.isTransient(err)) throw this.translate(err)
    }
    const state = await this.lookup(paymentHash).catch(() => null)
    if (state?.settled && state.preimage) return { preimage: state.preimage.toLowerCase() }
    throw WalletError.PAYMENT_PENDING()
  }

  close(): void {
    this.client.close()
  }

  private async request<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(fn(), this.requestTimeoutMs)
    } catch (err) {
      if (err instanceof TimeoutError || this.isTransient(err)) throw WalletError.WALLET_UNREACHABLE(`${method} got no reply in ${Math.round(this.requestTimeoutMs / 1000)} s`)
      throw this.translate(err)
    }
  }

  private isTransient(err: unknown): boolean {
    return err instanceof this.sdk.Nip47TimeoutError || err instanceof this.sdk.Nip47NetworkError || err instanceof this.sdk.Nip47PublishError
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

class TimeoutError extends Error {}

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
