// The wallet's books: accounts, the invoices they issued, the payments they made.
//
// Persistence is one JSON snapshot, rewritten atomically after every mutation and before the
// mutation's result is returned (so before any NIP-47 reply goes out). Why a snapshot and not a
// journal: a payment touches three records at once (payer, payee, invoice), and a single rename
// makes that all-or-nothing with no replay logic; the dev ledger is small and changes at most a
// few times a second, so rewriting it is cheap.
//
// Mutations run one at a time on a copy of the state, which replaces the live state only once it
// is on disk: two concurrent payments can neither overdraw an account nor settle one invoice
// twice, and a failed write leaves memory and disk as they were. (The public mutators are async
// so that argument errors reject like every other failure; they still queue in call order.)

import { join } from 'node:path'
import { generateSecretKey } from 'nostr-tools/pure'
import { DevWalletError } from './errors.js'
import { decodeInvoice, DEFAULT_EXPIRY_SECS, type NodeKey } from './node-key.js'
import { readIfExists, storeFile } from './storage.js'

export interface AccountRecord {
  name: string
  balanceMsat: number
  /** Total this account may ever spend; null for no limit. */
  budgetMsat: number | null
  spentMsat: number
  /** This connection's wallet-service key (NIP-47 recommends one per connection). */
  serviceSecret: string
  /** The app secret handed out in the connection URI. */
  clientSecret: string
  createdAt: number
}

export interface InvoiceRecord {
  paymentHash: string
  invoice: string
  preimage: string
  /** The account that issued it and is credited when it is paid. */
  account: string
  amountMsat: number
  description: string
  descriptionHash: string | null
  createdAt: number
  expiresAt: number
  settledAt: number | null
  payer: string | null
}

interface LedgerState {
  version: 1
  accounts: Record<string, AccountRecord>
  invoices: Record<string, InvoiceRecord>
}

/** A transaction as NIP-47 describes it (snake_case, amounts in msat, times in unix seconds). */
export interface WalletTransaction {
  type: 'incoming' | 'outgoing'
  state: 'pending' | 'settled' | 'expired'
  invoice: string
  description: string
  description_hash: string
  /** Known to the payee from the start, but only revealed once settled; the payer learns it by paying. */
  preimage?: string
  payment_hash: string
  amount: number
  fees_paid: number
  created_at: number
  expires_at: number
  settled_at?: number
}

export interface MakeInvoiceRequest {
  amountMsat: number
  description?: string
  descriptionHash?: string
  expirySecs?: number
}

export interface ListTransactionsRequest {
  from?: number
  until?: number
  limit?: number
  offset?: number
  unpaid?: boolean
  type?: 'incoming' | 'outgoing'
}

export interface PaymentResult {
  preimage: string
  feesPaidMsat: number
  amountMsat: number
  paymentHash: string
  payee: string
}

export const LEDGER_FILE = 'ledger.json'
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/
const MAX_EXPIRY_SECS = 365 * 24 * 3600

export interface BalanceRecord {
  name: string
  balanceMsat: number
  spentMsat: number
  budgetMsat: number | null
}

/**
 * Reads the balances in `dir` without opening the wallet: the ledger is only ever replaced whole
 * by an atomic rename, so a reader sees one complete state even while the wallet runs.
 */
export async function readBalances(dir: string): Promise<BalanceRecord[] | null> {
  const path = join(dir, LEDGER_FILE)
  const text = await readIfExists(path)
  if (text === null) return null
  return Object.values(parseLedger(path, text).accounts).map(({ name, balanceMsat, spentMsat, budgetMsat }) => ({
    name,
    balanceMsat,
    spentMsat,
    budgetMsat
  }))
}

export class Ledger {
  readonly path: string
  private state: LedgerState
  private tail: Promise<unknown> = Promise.resolve()
  private readonly node: NodeKey
  private readonly clock: () => number

  private constructor(path: string, state: LedgerState, node: NodeKey, clock: () => number) {
    this.path = path
    this.state = state
    this.node = node
    this.clock = clock
  }

  /**
   * Loads the ledger in `dir`, or creates it there holding `initialAccounts`: in the same write,
   * so a crash during the first start cannot leave a ledger without them.
   */
  static async open(
    dir: string,
    node: NodeKey,
    clock: () => number,
    initialAccounts: ReadonlyArray<{ name: string; fundMsat: number }>
  ): Promise<Ledger> {
    const path = join(dir, LEDGER_FILE)
    const text = await readIfExists(path)
    if (text !== null) return new Ledger(path, parseLedger(path, text), node, clock)
    const now = Math.floor(clock() / 1000)
    const state: LedgerState = { version: 1, accounts: {}, invoices: {} }
    for (const { name, fundMsat } of initialAccounts) state.accounts[name] = newAccount(name, fundMsat, null, now)
    await storeFile(path, JSON.stringify(state))
    return new Ledger(path, state, node, clock)
  }

  accounts(): AccountRecord[] {
    return Object.values(this.state.accounts)
  }

  account(name: string): AccountRecord {
    const account = this.state.accounts[name]
    if (!account) throw DevWalletError.UNKNOWN_ACCOUNT(name)
    return account
  }

  /** Resolves once every queued mutation has finished. */
  async settled(): Promise<void> {
    await this.tail
  }

  async createAccount(name: string, fundMsat: number, budgetMsat: number | null): Promise<AccountRecord> {
    if (typeof name !== 'string' || !ACCOUNT_NAME.test(name)) {
      throw DevWalletError.INVALID_ARGUMENT(
        'account name',
        'must be 1-64 lowercase letters, digits, - or _, starting with a letter or digit'
      )
    }
    checkMsat('fund amount', fundMsat, true)
    if (budgetMsat !== null) checkMsat('budget', budgetMsat, true)
    return this.mutate((state) => {
      if (state.accounts[name]) throw DevWalletError.ACCOUNT_EXISTS(name)
      const account = newAccount(name, fundMsat, budgetMsat, this.now())
      state.accounts[name] = account
      return account
    })
  }

  async makeInvoice(name: string, request: MakeInvoiceRequest): Promise<WalletTransaction> {
    checkMsat('amount', request.amountMsat, false)
    const expirySecs = request.expirySecs ?? DEFAULT_EXPIRY_SECS
    if (!Number.isSafeInteger(expirySecs) || expirySecs < 1 || expirySecs > MAX_EXPIRY_SECS) {
      throw DevWalletError.INVALID_ARGUMENT('expiry', `must be a whole number of seconds from 1 to ${MAX_EXPIRY_SECS}`)
    }
    const description = request.description ?? ''
    if (typeof description !== 'string') throw DevWalletError.INVALID_ARGUMENT('description', 'must be a string')
    const descriptionHash = request.descriptionHash ?? null
    if (descriptionHash !== null && !/^[0-9a-f]{64}$/.test(descriptionHash)) {
      throw DevWalletError.INVALID_ARGUMENT('description_hash', 'must be 64 lowercase hex characters')
    }
    return this.mutate((state) => {
      const account = mustGet(state, name)
      const createdAt = this.now()
      const issued = this.node.issue({
        amountMsat: request.amountMsat,
        description,
        descriptionHash,
        expirySecs,
        timestamp: createdAt
      })
      const record: InvoiceRecord = {
        paymentHash: issued.paymentHash,
        invoice: issued.invoice,
        preimage: issued.preimage,
        account: account.name,
        amountMsat: request.amountMsat,
        description,
        descriptionHash,
        createdAt,
        expiresAt: createdAt + expirySecs,
        settledAt: null,
        payer: null
      }
      state.invoices[record.paymentHash] = record
      return incoming(record, createdAt)
    })
  }

  /**
   * Settles an invoice this wallet issued, moving its amount from `payerName` to the issuing
   * account. Anything else (another node's invoice, expired, already paid) is PAYMENT_FAILED:
   * the dev wallet has no channels, so it can only settle internally.
   */
  async payInvoice(payerName: string, invoice: unknown, amountMsat?: number): Promise<PaymentResult> {
    const decoded = decodeInvoice(invoice)
    if (decoded.network !== 'bcrt') {
      throw DevWalletError.PAYMENT_FAILED(
        `the invoice is for network ${decoded.network}; this wallet settles regtest (bcrt) invoices only`
      )
    }
    return this.mutate((state) => {
      const payer = mustGet(state, payerName)
      const record = state.invoices[decoded.paymentHash]
      if (decoded.payeeNodeKey !== this.node.pubkey || !record || record.invoice !== decoded.invoice) {
        throw DevWalletError.PAYMENT_FAILED(
          'the invoice is unknown: this dev wallet settles only invoices it issued itself, between its own accounts'
        )
      }
      if (record.account === payer.name) throw DevWalletError.PAYMENT_FAILED('an account cannot pay its own invoice')
      if (record.settledAt !== null) {
        throw DevWalletError.PAYMENT_FAILED(
          'the invoice is already paid: use lookup_invoice to get its preimage instead of paying again'
        )
      }
      const now = this.now()
      if (now >= record.expiresAt) {
        const when = new Date(record.expiresAt * 1000).toISOString()
        throw DevWalletError.PAYMENT_FAILED(`the invoice expired at ${when}: ask the payee for a new one`)
      }
      if (amountMsat !== undefined && amountMsat !== record.amountMsat) {
        throw DevWalletError.INVALID_ARGUMENT(
          'amount',
          `is ${amountMsat} msat but the invoice asks for ${record.amountMsat} msat: omit it or match it`
        )
      }
      const amount = record.amountMsat
      if (payer.budgetMsat !== null && payer.spentMsat + amount > payer.budgetMsat) {
        throw DevWalletError.QUOTA_EXCEEDED(payer.name, amount, payer.spentMsat, payer.budgetMsat)
      }
      if (payer.balanceMsat < amount) throw DevWalletError.INSUFFICIENT_BALANCE(payer.name, amount, payer.balanceMsat)
      const payee = mustGet(state, record.account)
      payer.balanceMsat -= amount
      payer.spentMsat += amount
      payee.balanceMsat += amount
      record.settledAt = now
      record.payer = payer.name
      return {
        preimage: record.preimage,
        feesPaidMsat: 0,
        amountMsat: amount,
        paymentHash: record.paymentHash,
        payee: payee.name
      }
    })
  }

  /**
   * An invoice as `name` sees it: the issuer sees it incoming, the account that paid it sees it
   * outgoing, and to everyone else it does not exist, as with separate Lightning wallets.
   */
  lookupInvoice(name: string, query: { paymentHash?: unknown; invoice?: unknown }): WalletTransaction {
    this.account(name)
    let hash = query.paymentHash
    if (query.invoice !== undefined) {
      const fromInvoice = decodeInvoice(query.invoice).paymentHash
      if (hash !== undefined && hash !== fromInvoice) {
        throw DevWalletError.INVALID_ARGUMENT('payment_hash', 'does not match the invoice; pass one or the other')
      }
      hash = fromInvoice
    }
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
      throw DevWalletError.INVALID_ARGUMENT('lookup_invoice', 'needs a payment_hash (64 hex characters) or an invoice')
    }
    const record = this.state.invoices[hash]
    if (record?.account === name) return incoming(record, this.now())
    if (record?.payer === name) return outgoing(record)
    throw DevWalletError.NOT_FOUND(`invoice with payment hash ${hash}`)
  }

  /** Newest first. Unpaid incoming invoices appear only with `unpaid: true`, as in NIP-47. */
  listTransactions(
    name: string,
    request: ListTransactionsRequest = {}
  ): { transactions: WalletTransaction[]; totalCount: number } {
    this.account(name)
    const now = this.now()
    const all: WalletTransaction[] = []
    for (const record of Object.values(this.state.invoices)) {
      if (record.account === name && (request.unpaid === true || record.settledAt !== null))
        all.push(incoming(record, now))
      if (record.payer === name) all.push(outgoing(record))
    }
    const selected = all
      .filter((tx) => request.type === undefined || tx.type === request.type)
      .filter((tx) => request.from === undefined || tx.created_at >= request.from)
      .filter((tx) => request.until === undefined || tx.created_at <= request.until)
      .sort((a, b) => b.created_at - a.created_at)
    const offset = request.offset ?? 0
    const limit = request.limit ?? selected.length
    return { transactions: selected.slice(offset, offset + limit), totalCount: selected.length }
  }

  private mutate<T>(change: (state: LedgerState) => T): Promise<T> {
    const run = this.tail.then(async () => {
      const draft = structuredClone(this.state)
      const result = change(draft)
      await storeFile(this.path, JSON.stringify(draft))
      this.state = draft
      return result
    })
    this.tail = run.catch(() => undefined)
    return run
  }

  private now(): number {
    return Math.floor(this.clock() / 1000)
  }
}

function newAccount(name: string, fundMsat: number, budgetMsat: number | null, now: number): AccountRecord {
  return {
    name,
    balanceMsat: fundMsat,
    budgetMsat,
    spentMsat: 0,
    serviceSecret: Buffer.from(generateSecretKey()).toString('hex'),
    clientSecret: Buffer.from(generateSecretKey()).toString('hex'),
    createdAt: now
  }
}

function mustGet(state: LedgerState, name: string): AccountRecord {
  const account = state.accounts[name]
  if (!account) throw DevWalletError.UNKNOWN_ACCOUNT(name)
  return account
}

function checkMsat(field: string, value: unknown, zeroAllowed: boolean): void {
  if (!Number.isSafeInteger(value) || (value as number) < (zeroAllowed ? 0 : 1)) {
    throw DevWalletError.INVALID_ARGUMENT(field, `must be a whole number of msat${zeroAllowed ? '' : ' above zero'}`)
  }
}

function incoming(record: InvoiceRecord, now: number): WalletTransaction {
  const settled = record.settledAt !== null
  return {
    ...common(record),
    type: 'incoming',
    state: settled ? 'settled' : now >= record.expiresAt ? 'expired' : 'pending',
    created_at: record.createdAt,
    ...(settled ? { preimage: record.preimage, settled_at: record.settledAt ?? undefined } : {})
  }
}

function outgoing(record: InvoiceRecord): WalletTransaction {
  const settledAt = record.settledAt ?? record.createdAt
  return {
    ...common(record),
    type: 'outgoing',
    state: 'settled',
    created_at: settledAt,
    preimage: record.preimage,
    settled_at: settledAt
  }
}

function common(record: InvoiceRecord): Omit<WalletTransaction, 'type' | 'state' | 'created_at'> {
  return {
    invoice: record.invoice,
    description: record.description,
    description_hash: record.descriptionHash ?? '',
    payment_hash: record.paymentHash,
    amount: record.amountMsat,
    fees_paid: 0,
    expires_at: record.expiresAt
  }
}

function parseLedger(path: string, text: string): LedgerState {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw DevWalletError.LEDGER_CORRUPT(path, 'not JSON')
  }
  const state = value as Partial<LedgerState> | null
  if (state?.version !== 1 || typeof state.accounts !== 'object' || typeof state.invoices !== 'object') {
    throw DevWalletError.LEDGER_CORRUPT(path, 'not a version 1 ledger')
  }
  return state as LedgerState
}
