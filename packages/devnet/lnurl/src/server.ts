// A Lightning-address server for the local network: LUD-16 `/.well-known/lnurlp/<account>` for
// every account of the devnet wallet, LUD-06 pay requests, and NIP-57 zaps. A zap invoice commits
// (description hash) to the zap request the payer sent; once the wallet settles it, the server signs
// the zap receipt (kind 9735) with its own key, the `nostrPubkey` it advertises, and publishes it to
// the devnet relay, and only there: the `relays` a payer names are not dialled.
//
// A custodial server that takes any `p` lets a payer credit a zap to a key of its choosing (a real
// bug, see NOTES), so a zap is only taken for a `p` whose profile (kind 0) on the relay names this
// very address as its lud16. Unpaid zaps live in memory: a restarted server forgets them, and their
// invoices, if paid later, publish no receipt. Its key lives in the devnet dir and survives restarts.

import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getPublicKey, type Event } from 'nostr-tools/pure'
import { isDevWalletError, type DevWallet, type DevWalletEvents, type WalletTransaction } from '@2020117/devwallet'
import { RelayPool } from '@2020117/nostr'
import { kinds } from '@2020117/protocol'
import { LnurlServerError, isLnurlServerError } from './errors.js'
import { loadServerKey } from './key.js'
import { buildReceipt } from './receipt.js'
import { checkZapRequest } from './zap-request.js'

export interface LnurlServerOptions {
  /** Where the receipt-signing key is kept. */
  dir: string
  /** The devnet relay: profiles are read there and receipts published there. */
  relayUrl: string
  /** The wallet whose accounts are served; attach() hands over a restarted one. */
  wallet: DevWallet
  /** Default 127.0.0.1: the server is for the local network only. */
  host?: string
  /** Default 0: an ephemeral port, read it back from `port`. */
  port?: number
  /** Default 1000 msat (1 sat) to 1 000 000 000 msat (1 000 000 sats). */
  minSendableMsat?: number
  maxSendableMsat?: number
  /** Lifetime of the invoices it issues. Default 600 s. */
  invoiceExpirySecs?: number
  /** One line per receipt published; never receives a secret. */
  log?: (line: string) => void
}

export interface RunningLnurlServer {
  /** http://HOST:PORT, no trailing slash. */
  url: string
  host: string
  port: number
  /** The key every receipt is signed with (hex), advertised as `nostrPubkey`. */
  nostrPubkey: string
  /** `<account>@HOST:PORT`, the account's Lightning address. */
  lud16(account: string): string
  /** Serves a restarted wallet (stop and start of the devnet's wallet) from now on. */
  attach(wallet: DevWallet): void
  close(): Promise<void>
}

/** Zap invoices waiting to be paid, at most; an expired one is forgotten. */
export const MAX_PENDING_ZAPS = 1000
const MAX_URL_BYTES = 64 * 1024
const MAX_CONNECTIONS = 64
const PROFILE_WAIT_MS = 3000
const PUBLISH_TIMEOUT_MS = 5000
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/
const WELL_KNOWN = /^\/\.well-known\/lnurlp\/([^/]{1,64})$/
const CALLBACK = /^\/lnurlp\/([^/]{1,64})\/callback$/
const MSAT = /^[1-9][0-9]{0,15}$/
const CORS = { 'access-control-allow-origin': '*' }

export async function startLnurlServer(opts: LnurlServerOptions): Promise<RunningLnurlServer> {
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw LnurlServerError.INVALID_OPTION('port', 'must be an integer from 0 to 65535')
  const key = await loadServerKey(opts.dir)
  const http = createServer({ maxHeaderSize: MAX_URL_BYTES }, (req, res) => {
    void route(req, res, desk).catch((err) => refuse(res, err))
  })
  http.maxConnections = MAX_CONNECTIONS
  await listen(http, host, port)
  const bound = http.address() as AddressInfo
  const desk = new ZapDesk(opts, key, `${bound.address}:${bound.port}`)
  let closed: Promise<void> | null = null
  return {
    url: desk.origin,
    host: bound.address,
    port: bound.port,
    nostrPubkey: desk.pubkey,
    lud16: (account) => desk.lud16(account),
    attach: (wallet) => desk.attach(wallet),
    close() {
      closed ??= new Promise<void>((resolve) => {
        http.close(() => resolve())
        http.closeAllConnections()
      }).then(() => desk.close())
      return closed
    }
  }
}

// Account names are plain [a-z0-9_-]: a path segment is matched as sent, never decoded.
async function route(req: IncomingMessage, res: ServerResponse, desk: ZapDesk): Promise<void> {
  let url: URL
  try {
    url = new URL(req.url ?? '/', 'http://unused')
  } catch {
    throw LnurlServerError.NOT_FOUND()
  }
  if (req.method === 'GET') {
    const wellKnown = WELL_KNOWN.exec(url.pathname)
    if (wellKnown) return send(res, 200, desk.payRequest(wellKnown[1]!))
    const callback = CALLBACK.exec(url.pathname)
    if (callback) return send(res, 200, await desk.callback(callback[1]!, url.searchParams))
  }
  throw LnurlServerError.NOT_FOUND()
}

interface PendingZap {
  account: string
  request: Event
  description: string
  bolt11: string
  paymentHash: string
  expiresAt: number
}

/** The server's state: its key, the wallet it serves, the zaps waiting to be paid, the receipts to send. */
class ZapDesk {
  readonly pubkey: string
  readonly origin: string
  readonly #key: Uint8Array
  readonly #address: string
  readonly #pool: RelayPool
  readonly #pending = new Map<string, PendingZap>()
  readonly #outbox = new Map<string, Event>()
  readonly #limits: { min: number; max: number; expirySecs: number }
  readonly #log: (line: string) => void
  #wallet: DevWallet
  // Called inside the wallet's settlement: a throw here would fail a payment already made.
  readonly #onPayment = (payment: DevWalletEvents['payment'][0]) => {
    try {
      this.#paid(payment.payee, payment.paymentHash)
    } catch (err) {
      this.#log(`lnurl    no receipt for ${payment.paymentHash}: ${(err as Error).message.slice(0, 200)}`)
    }
  }

  constructor(opts: LnurlServerOptions, key: Uint8Array, address: string) {
    this.#key = key
    this.pubkey = getPublicKey(key)
    this.#address = address
    this.origin = `http://${address}`
    this.#limits = {
      min: opts.minSendableMsat ?? 1000,
      max: opts.maxSendableMsat ?? 1_000_000_000,
      expirySecs: opts.invoiceExpirySecs ?? 600
    }
    this.#log = opts.log ?? (() => {})
    // The receipts' key answers the relay's NIP-42 challenge: a relay with auth on takes them then.
    this.#pool = new RelayPool([opts.relayUrl], { persistent: true, secretKey: key })
    this.#pool.on('reconnect', () => void this.#flush())
    this.#wallet = opts.wallet
    this.#wallet.on('payment', this.#onPayment)
  }

  lud16(account: string): string {
    return `${account}@${this.#address}`
  }

  /** LUD-06: what a payer needs to ask for an invoice, with NIP-57's `allowsNostr` and `nostrPubkey`. */
  payRequest(account: string): Record<string, unknown> {
    this.#account(account)
    return {
      tag: 'payRequest',
      callback: `${this.origin}/lnurlp/${account}/callback`,
      minSendable: this.#limits.min,
      maxSendable: this.#limits.max,
      metadata: this.#metadata(account),
      allowsNostr: true,
      nostrPubkey: this.pubkey
    }
  }

  /** LUD-06 callback: an invoice on `account`, committing to the zap request when there is one. */
  async callback(account: string, query: URLSearchParams): Promise<Record<string, unknown>> {
    this.#account(account)
    const amounts = query.getAll('amount')
    if (amounts.length !== 1 || !MSAT.test(amounts[0]!)) throw this.#badAmount()
    const amountMsat = Number(amounts[0])
    if (amountMsat < this.#limits.min || amountMsat > this.#limits.max) throw this.#badAmount()
    const zaps = query.getAll('nostr')
    if (zaps.length > 1) throw LnurlServerError.BAD_ZAP_REQUEST('the nostr parameter is given more than once')
    if (zaps.length === 0) {
      const tx = await this.#invoice(account, amountMsat, sha256Hex(this.#metadata(account)))
      return { pr: tx.invoice, routes: [] }
    }
    const description = zaps[0]!
    const request = checkZapRequest(description, amountMsat)
    await this.#checkBound(request, account)
    this.#prune()
    if (this.#pending.size >= MAX_PENDING_ZAPS) throw LnurlServerError.TOO_MANY_PENDING(MAX_PENDING_ZAPS)
    const tx = await this.#invoice(account, amountMsat, sha256Hex(description))
    const zap = { account, request, description, bolt11: tx.invoice, paymentHash: tx.payment_hash }
    this.#pending.set(tx.payment_hash, { ...zap, expiresAt: tx.expires_at })
    return { pr: tx.invoice, routes: [] }
  }

  attach(wallet: DevWallet): void {
    this.#wallet.off('payment', this.#onPayment)
    this.#wallet = wallet
    wallet.on('payment', this.#onPayment)
    // A payment settled between the wallet's start and this call had no listener yet.
    for (const zap of [...this.#pending.values()]) {
      const tx = this.#lookup(zap)
      if (tx?.state === 'settled') this.#receipt(zap, tx)
    }
  }

  close(): void {
    this.#wallet.off('payment', this.#onPayment)
    this.#pool.close()
  }

  #account(name: string): void {
    if (!ACCOUNT_NAME.test(name)) throw LnurlServerError.NOT_FOUND()
    if (!this.#wallet.accounts().some((a) => a.name === name)) throw LnurlServerError.UNKNOWN_ACCOUNT(name)
  }

  #metadata(account: string): string {
    const text = `zap ${account} on the 2020117 local network`
    return JSON.stringify([
      ['text/plain', text],
      ['text/identifier', this.lud16(account)]
    ])
  }

  #badAmount(): LnurlServerError {
    return LnurlServerError.BAD_AMOUNT(this.#limits.min, this.#limits.max)
  }

  async #invoice(account: string, amountMsat: number, descriptionHash: string): Promise<WalletTransaction> {
    try {
      return await this.#wallet.makeInvoice(account, {
        amountMsat,
        description: `lnurl-pay ${account}`,
        descriptionHash,
        expirySecs: this.#limits.expirySecs
      })
    } catch (err) {
      if (isDevWalletError(err) && err.code === 'CLOSED') throw LnurlServerError.WALLET_DOWN()
      throw LnurlServerError.INVOICE_FAILED(err)
    }
  }

  /** The zap request's `p` must claim this address in its newest profile on the relay. */
  async #checkBound(request: Event, account: string): Promise<void> {
    const p = request.tags.find((t) => t[0] === 'p')![1]!
    const profiles = await this.#pool.query({ kinds: [kinds.Metadata], authors: [p], limit: 5 }, PROFILE_WAIT_MS)
    const newest = profiles.filter((e) => e.pubkey === p).sort((a, b) => b.created_at - a.created_at)[0]
    if (lud16Of(newest) !== this.lud16(account)) throw LnurlServerError.RECIPIENT_UNBOUND(this.lud16(account))
  }

  #prune(): void {
    const now = Math.floor(Date.now() / 1000)
    for (const [hash, zap] of this.#pending) if (zap.expiresAt <= now) this.#pending.delete(hash)
  }

  #paid(payee: string, paymentHash: string): void {
    const zap = this.#pending.get(paymentHash)
    if (!zap || zap.account !== payee) return
    const tx = this.#lookup(zap)
    if (tx?.state === 'settled') this.#receipt(zap, tx)
  }

  #lookup(zap: PendingZap): WalletTransaction | null {
    try {
      return this.#wallet.lookupInvoice(zap.account, { paymentHash: zap.paymentHash })
    } catch {
      return null
    }
  }

  #receipt(zap: PendingZap, tx: WalletTransaction): void {
    this.#pending.delete(zap.paymentHash)
    if (tx.preimage === undefined || tx.settled_at === undefined) return
    const receipt = buildReceipt({ ...zap, preimage: tx.preimage, settledAt: tx.settled_at }, this.#key)
    this.#outbox.set(receipt.id, receipt)
    void this.#flush()
  }

  /** Publishes every receipt not yet taken by the relay; a relay that comes back gets the rest. */
  async #flush(): Promise<void> {
    for (const [id, receipt] of this.#outbox) {
      // Free under the network's policy (kind 9735); a relay that prices it gets it mined.
      const published = await this.#pool.publishWithPow(receipt, { timeoutMs: PUBLISH_TIMEOUT_MS }).catch(() => null)
      if (!published || published.accepted.length === 0) continue
      if (this.#outbox.delete(id)) this.#log(`lnurl    zap receipt ${published.event.id} published`)
    }
  }
}

/** A profile's lud16, lower-cased, or null; the relay has checked its signature. */
function lud16Of(profile: Event | undefined): string | null {
  if (!profile) return null
  try {
    const lud16 = (JSON.parse(profile.content) as { lud16?: unknown } | null)?.lud16
    return typeof lud16 === 'string' && lud16.length <= 200 ? lud16.toLowerCase() : null
  } catch {
    return null
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...CORS, 'content-type': 'application/json' }).end(JSON.stringify(body))
}

/** LUD-06's error form, whatever went wrong; an unexpected failure says no more than that. */
function refuse(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.destroy()
  const error = isLnurlServerError(err) ? err : LnurlServerError.INTERNAL()
  send(res, error.status, { status: 'ERROR', reason: error.message })
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(LnurlServerError.LISTEN_FAILED(host, port, err)))
    server.listen(port, host, () => resolve())
  })
}
