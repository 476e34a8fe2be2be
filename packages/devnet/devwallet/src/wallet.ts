// The dev wallet: a local Lightning wallet for the offline network. It holds named accounts in one
// ledger, settles invoices between them, and serves each account over its own NIP-47 (Nostr
// Wallet Connect) connection, so the rest of 2020117 pays and gets paid exactly as it would with
// a real NWC wallet.

import { EventEmitter } from 'node:events'
import { inspect } from 'node:util'
import type { NWCWalletServiceRequestHandler, Nip47SingleMethod, Nip47Transaction } from '@getalby/sdk/nwc'
import { getPublicKey } from 'nostr-tools/pure'
import { DevWalletError, isDevWalletError } from './errors.js'
import {
  Ledger,
  type AccountRecord,
  type ListTransactionsRequest,
  type MakeInvoiceRequest,
  type PaymentResult,
  type WalletTransaction
} from './ledger.js'
import { NodeKey } from './node-key.js'
import { NwcConnection } from './nwc.js'
import { lockDir } from './storage.js'

export interface WalletOptions {
  /** The Nostr relay the NWC connections use, e.g. a `@2020117/relay` on 127.0.0.1. */
  relayUrl: string
  /** Ledger, node key and connection secrets live here. */
  dir: string
  network?: 'regtest'
  /** Milliseconds since the epoch; tests move it to expire invoices without waiting. */
  clock?: () => number
  /** Diagnostics, one line each; never receives secrets. */
  log?: (line: string) => void
}

export interface AccountInfo {
  name: string
  balanceMsat: number
  /**
   * nostr+walletconnect://<walletPubkey>?relay=<url-encoded>&secret=<hex>. It carries the spending
   * secret: hand it to the account's user, never to a log.
   */
  nwcUri: string
  /** Total the connection may ever spend, or null for no limit. */
  budgetMsat: number | null
  spentMsat: number
}

export interface CreateAccountOptions {
  fundSats?: number
  budgetSats?: number | null
}

export interface DevWalletEvents {
  /** An NWC request reached its handler (before it is answered). */
  request: [{ account: string; method: string }]
  /** An invoice was settled and the ledger is on disk. */
  payment: [{ payer: string; payee: string; amountMsat: number; paymentHash: string }]
}

export const INITIAL_ACCOUNTS: ReadonlyArray<{ name: string; fundMsat: number }> = Object.freeze([
  { name: 'provider', fundMsat: 0 },
  { name: 'customer', fundMsat: 100_000_000 }
])

const METHODS: Nip47SingleMethod[] = [
  'get_info',
  'get_balance',
  'make_invoice',
  'pay_invoice',
  'lookup_invoice',
  'list_transactions'
]
const ALIAS = '2020117-devwallet'

export async function startWallet(opts: WalletOptions): Promise<DevWallet> {
  if (typeof opts?.relayUrl !== 'string' || !/^wss?:\/\/./.test(opts.relayUrl)) {
    throw DevWalletError.INVALID_ARGUMENT('relayUrl', 'must be a ws:// or wss:// URL')
  }
  if (typeof opts.dir !== 'string' || opts.dir === '')
    throw DevWalletError.INVALID_ARGUMENT('dir', 'must be a directory path')
  if (opts.network !== undefined && opts.network !== 'regtest') {
    throw DevWalletError.INVALID_ARGUMENT('network', 'must be regtest: the dev wallet has no real channels')
  }
  const release = await lockDir(opts.dir)
  try {
    const clock = opts.clock ?? Date.now
    const node = await NodeKey.load(opts.dir)
    const ledger = await Ledger.open(opts.dir, node, clock, INITIAL_ACCOUNTS)
    const wallet = new DevWallet(opts, node, ledger, release)
    await wallet.connectAll()
    return wallet
  } catch (err) {
    await release()
    throw err
  }
}

export class DevWallet extends EventEmitter<DevWalletEvents> {
  readonly relayUrl: string
  readonly dir: string
  readonly network = 'regtest' as const
  /** The Lightning node key that signs every invoice (33-byte compressed, hex). */
  readonly nodePubkey: string
  private readonly ledger: Ledger
  private readonly log: (line: string) => void
  private readonly releaseLock: () => Promise<void>
  private readonly connections = new Map<string, NwcConnection>()
  private closing: Promise<void> | null = null

  /** @internal use startWallet() */
  constructor(opts: WalletOptions, node: NodeKey, ledger: Ledger, releaseLock: () => Promise<void>) {
    super()
    this.relayUrl = opts.relayUrl
    this.dir = opts.dir
    this.nodePubkey = node.pubkey
    this.ledger = ledger
    this.log = opts.log ?? (() => undefined)
    this.releaseLock = releaseLock
  }

  /** @internal */
  async connectAll(): Promise<void> {
    const results = await Promise.allSettled(this.ledger.accounts().map((account) => this.connect(account)))
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failure) {
      await Promise.all([...this.connections.values()].map((c) => c.close()))
      throw failure.reason
    }
  }

  accounts(): AccountInfo[] {
    return this.ledger.accounts().map((account) => this.info(account))
  }

  account(name: string): AccountInfo {
    return this.info(this.ledger.account(name))
  }

  balance(name: string): number {
    return this.ledger.account(name).balanceMsat
  }

  /** Adds an account (with its own NWC connection); `fundSats` is minted out of thin air. */
  async createAccount(name: string, opts: CreateAccountOptions = {}): Promise<AccountInfo> {
    this.assertOpen()
    const fundMsat = satsToMsat('fundSats', opts.fundSats ?? 0)
    const budgetMsat =
      opts.budgetSats === undefined || opts.budgetSats === null ? null : satsToMsat('budgetSats', opts.budgetSats)
    const account = await this.ledger.createAccount(name, fundMsat, budgetMsat)
    await this.connect(account)
    return this.info(account)
  }

  /** NIP-47 list_transactions for one account, newest first. */
  transactions(name: string, request?: ListTransactionsRequest): WalletTransaction[] {
    return this.ledger.listTransactions(name, request).transactions
  }

  async makeInvoice(name: string, request: MakeInvoiceRequest): Promise<WalletTransaction> {
    this.assertOpen()
    return this.ledger.makeInvoice(name, request)
  }

  async payInvoice(name: string, invoice: string): Promise<PaymentResult> {
    this.assertOpen()
    return this.settle(name, invoice)
  }

  lookupInvoice(name: string, query: { paymentHash?: string; invoice?: string }): WalletTransaction {
    return this.ledger.lookupInvoice(name, query)
  }

  /** Stops the NWC connections after answering requests under way, then waits for the ledger. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.connections.values()].map((c) => c.close()))
      await this.ledger.settled()
      await this.releaseLock()
    })()
    return this.closing
  }

  // The ledger holds every connection secret; keep them out of console.log(wallet).
  [inspect.custom](): string {
    const names = this.ledger.accounts().map((a) => a.name)
    return `DevWallet { node: ${this.nodePubkey}, relay: ${this.relayUrl}, accounts: ${names.join(', ')} }`
  }

  private async connect(account: AccountRecord): Promise<void> {
    const connection = await NwcConnection.open({
      relayUrl: this.relayUrl,
      serviceSecret: account.serviceSecret,
      clientPubkey: getPublicKey(Buffer.from(account.clientSecret, 'hex')),
      handler: this.handlerFor(account.name),
      methods: METHODS,
      log: this.log
    })
    this.connections.set(account.name, connection)
    // createAccount may race close(): a connection opened after close began is closed at once.
    if (this.closing) await connection.close()
  }

  // Requests a connection already accepted are finished even while the wallet closes, hence no
  // assertOpen() on this path.
  private async settle(name: string, invoice: unknown): Promise<PaymentResult> {
    const result = await this.ledger.payInvoice(name, invoice)
    this.emit('payment', {
      payer: name,
      payee: result.payee,
      amountMsat: result.amountMsat,
      paymentHash: result.paymentHash
    })
    return result
  }

  private info(account: AccountRecord): AccountInfo {
    const walletPubkey = getPublicKey(Buffer.from(account.serviceSecret, 'hex'))
    return {
      name: account.name,
      balanceMsat: account.balanceMsat,
      nwcUri: `nostr+walletconnect://${walletPubkey}?relay=${encodeURIComponent(this.relayUrl)}&secret=${account.clientSecret}`,
      budgetMsat: account.budgetMsat,
      spentMsat: account.spentMsat
    }
  }

  private assertOpen(): void {
    if (this.closing) throw DevWalletError.CLOSED()
  }

  private handlerFor(name: string): NWCWalletServiceRequestHandler {
    // The SDK's Nip47Transaction predates NIP-47's "expired" state and optional preimage.
    const asNip47 = (tx: WalletTransaction): Nip47Transaction => tx as unknown as Nip47Transaction
    const serve = <T>(method: string, work: () => T | Promise<T>) => this.serve(name, method, work)
    return {
      getInfo: () =>
        serve('get_info', () => ({
          alias: ALIAS,
          color: '#202011',
          pubkey: this.nodePubkey,
          network: 'regtest',
          block_height: 0,
          block_hash: '0'.repeat(64),
          methods: METHODS,
          notifications: []
        })),
      getBalance: () => serve('get_balance', () => ({ balance: this.ledger.account(name).balanceMsat })),
      makeInvoice: (request) =>
        serve('make_invoice', async () => {
          const params = request ?? {}
          const tx = await this.ledger.makeInvoice(name, {
            amountMsat: params.amount,
            ...(params.description !== undefined ? { description: params.description } : {}),
            ...(params.description_hash !== undefined ? { descriptionHash: params.description_hash } : {}),
            ...(params.expiry !== undefined ? { expirySecs: params.expiry } : {})
          })
          return asNip47(tx)
        }),
      payInvoice: (request) =>
        serve('pay_invoice', async () => {
          const result = await this.settle(name, request?.invoice)
          return { preimage: result.preimage, fees_paid: result.feesPaidMsat }
        }),
      lookupInvoice: (request) =>
        serve('lookup_invoice', () =>
          asNip47(
            this.ledger.lookupInvoice(name, {
              ...(request?.payment_hash !== undefined ? { paymentHash: request.payment_hash } : {}),
              ...(request?.invoice !== undefined ? { invoice: request.invoice } : {})
            })
          )
        ),
      listTransactions: (request) =>
        serve('list_transactions', () => {
          const query = listRequest((request ?? {}) as Record<string, unknown>)
          const { transactions, totalCount } = this.ledger.listTransactions(name, query)
          return { transactions: transactions.map(asNip47), total_count: totalCount }
        })
    }
  }

  /** Runs one NIP-47 request and turns every outcome into a reply: the SDK sends none for a throw. */
  private async serve<T>(account: string, method: string, work: () => T | Promise<T>) {
    this.emit('request', { account, method })
    try {
      return { result: await work(), error: undefined }
    } catch (err) {
      if (isDevWalletError(err)) return { result: undefined, error: { code: err.nip47Code, message: err.message } }
      this.log(`${method} for ${account} failed unexpectedly: ${err instanceof Error ? err.name : typeof err}`)
      return {
        result: undefined,
        error: { code: 'INTERNAL', message: DevWalletError.INTERNAL(`handling ${method}`).message }
      }
    }
  }
}

function satsToMsat(field: string, sats: number): number {
  if (!Number.isSafeInteger(sats) || sats < 0 || !Number.isSafeInteger(sats * 1000)) {
    throw DevWalletError.INVALID_ARGUMENT(field, 'must be a whole, non-negative number of sats')
  }
  return sats * 1000
}

function listRequest(params: Record<string, unknown>): ListTransactionsRequest {
  const request: ListTransactionsRequest = {}
  for (const key of ['from', 'until', 'limit', 'offset'] as const) {
    const value = params[key]
    if (value === undefined) continue
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw DevWalletError.INVALID_ARGUMENT(key, 'must be a non-negative integer')
    }
    request[key] = value as number
  }
  if (params.unpaid !== undefined) request.unpaid = params.unpaid === true
  if (params.type !== undefined) {
    if (params.type !== 'incoming' && params.type !== 'outgoing') {
      throw DevWalletError.INVALID_ARGUMENT('type', 'must be incoming or outgoing')
    }
    request.type = params.type
  }
  return request
}
