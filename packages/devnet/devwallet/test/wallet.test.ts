import { createECDH, createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import bolt11 from 'bolt11'
import type { NWCClient } from '@getalby/sdk/nwc'
import { startRelay, type RunningRelay } from '@2020117/relay'
import { REGTEST, DevWalletError, loadNwcSdk, startWallet, type DevWallet, type WalletOptions } from '../src/index.js'

let relay: RunningRelay
let Client: typeof NWCClient
const cleanups: Array<() => Promise<unknown> | unknown> = []
const secrets = new Set<string>()
const consoleLines: string[] = []
const logLines: string[] = []

beforeAll(async () => {
  // The SDK reports every failed request on console.error; collect instead of printing, and
  // check at the end that no secret ever reached the console.
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleLines.push(
        args
          .map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a)))
          .join(' ')
      )
    })
  }
  relay = await startRelay()
  Client = (await loadNwcSdk()).NWCClient
})

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

afterAll(async () => {
  await relay.close()
  vi.restoreAllMocks()
  const output = [...consoleLines, ...logLines].join('\n')
  expect(secrets.size).toBeGreaterThan(0)
  for (const secret of secrets) expect(output).not.toContain(secret)
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devwallet-test-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function wallet(dir: string, extra: Partial<WalletOptions> = {}): Promise<DevWallet> {
  const started = await startWallet({ relayUrl: relay.url, dir, log: (line) => logLines.push(line), ...extra })
  cleanups.push(() => started.close())
  await rememberSecrets(dir)
  return started
}

async function rememberSecrets(dir: string): Promise<void> {
  secrets.add((await readFile(join(dir, 'node.key'), 'utf8')).trim())
  const ledger = JSON.parse(await readFile(join(dir, 'ledger.json'), 'utf8')) as {
    accounts: Record<string, { serviceSecret: string; clientSecret: string }>
  }
  for (const account of Object.values(ledger.accounts)) {
    secrets.add(account.serviceSecret)
    secrets.add(account.clientSecret)
  }
}

function client(w: DevWallet, account: string): NWCClient {
  const c = new Client({ nostrWalletConnectUrl: w.account(account).nwcUri })
  cleanups.push(() => c.close())
  return c
}

const sha256 = (hex: string): string => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex')

/** A valid regtest invoice signed by some other node. */
function foreignInvoice(amountMsat: number, paymentHash = sha256(randomBytes(32).toString('hex'))): string {
  const key = createECDH('secp256k1')
  key.generateKeys()
  const unsigned = bolt11.encode({
    network: { ...REGTEST, validWitnessVersions: [0, 1] },
    millisatoshis: String(amountMsat),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'description', data: 'someone else' }
    ]
  })
  return bolt11.sign(unsigned, key.getPrivateKey('hex').padStart(64, '0')).paymentRequest ?? ''
}

describe('@2020117/devwallet', () => {
  it('starts with a funded customer and an empty provider, reachable over NWC', async () => {
    const w = await wallet(await tempDir())
    expect(w.accounts().map(({ name, balanceMsat }) => ({ name, balanceMsat }))).toEqual([
      { name: 'provider', balanceMsat: 0 },
      { name: 'customer', balanceMsat: 100_000_000 }
    ])
    const [provider, customer] = w.accounts()
    const uri = /^nostr\+walletconnect:\/\/([0-9a-f]{64})\?relay=([^&]+)&secret=([0-9a-f]{64})$/
    expect(provider?.nwcUri).toMatch(uri)
    expect(decodeURIComponent(provider?.nwcUri.match(uri)?.[2] ?? '')).toBe(relay.url)
    // One wallet-service key per connection.
    expect(provider?.nwcUri.match(uri)?.[1]).not.toBe(customer?.nwcUri.match(uri)?.[1])

    const info = await client(w, 'customer').getInfo()
    expect(info).toMatchObject({ network: 'regtest', pubkey: w.nodePubkey, alias: '2020117-devwallet' })
    expect(info.methods).toEqual(
      expect.arrayContaining(['pay_invoice', 'make_invoice', 'lookup_invoice', 'get_balance'])
    )
    expect(await client(w, 'customer').getBalance()).toEqual({ balance: 100_000_000 })
    expect(await client(w, 'provider').getBalance()).toEqual({ balance: 0 })
  })

  it('makes a real signed regtest BOLT11 invoice', async () => {
    const w = await wallet(await tempDir())
    const made = await client(w, 'provider').makeInvoice({ amount: 167, description: 'one minute of GPU', expiry: 600 })
    expect(made.invoice.startsWith('lnbcrt')).toBe(true)

    const decoded = bolt11.decode(made.invoice, { ...REGTEST, validWitnessVersions: [0, 1] })
    expect(decoded.network?.bech32).toBe('bcrt')
    expect(decoded.millisatoshis).toBe('167')
    expect(decoded.payeeNodeKey).toBe(w.nodePubkey)
    expect(decoded.tagsObject.payment_hash).toBe(made.payment_hash)
    expect(decoded.tagsObject.description).toBe('one minute of GPU')
    expect(decoded.tagsObject.expire_time).toBe(600)
    expect(made).toMatchObject({
      type: 'incoming',
      state: 'pending',
      amount: 167,
      expires_at: (decoded.timestamp ?? 0) + 600
    })
    expect(made.preimage).toBeUndefined()

    // bolt11 recovers the signer from the signature: it is this wallet's node key. (An invoice
    // with our payment hash but another signer is refused, see the "did not issue" test.)
    expect(decoded.signature).toMatch(/^[0-9a-f]{128}$/)
    expect(decoded.complete).toBe(true)
  })

  it('settles a customer payment to the provider, msat-exact, durably before replying', async () => {
    const dir = await tempDir()
    const w = await wallet(dir)
    const provider = client(w, 'provider')
    const customer = client(w, 'customer')
    const { invoice, payment_hash } = await provider.makeInvoice({ amount: 167, description: 'tick' })

    const paid = await customer.payInvoice({ invoice })
    expect(sha256(paid.preimage)).toBe(payment_hash)
    expect(paid.fees_paid).toBe(0)

    // The reply went out after the ledger hit the disk.
    const onDisk = JSON.parse(await readFile(join(dir, 'ledger.json'), 'utf8')) as {
      accounts: Record<string, { balanceMsat: number }>
      invoices: Record<string, { settledAt: number | null; payer: string | null }>
    }
    expect(onDisk.accounts.provider?.balanceMsat).toBe(167)
    expect(onDisk.accounts.customer?.balanceMsat).toBe(100_000_000 - 167)
    expect(onDisk.invoices[payment_hash]).toMatchObject({ payer: 'customer' })
    expect(onDisk.invoices[payment_hash]?.settledAt).not.toBeNull()

    expect(await provider.getBalance()).toEqual({ balance: 167 })
    expect(await customer.getBalance()).toEqual({ balance: 100_000_000 - 167 })

    const asPayee = await provider.lookupInvoice({ payment_hash })
    expect(asPayee).toMatchObject({ type: 'incoming', state: 'settled', amount: 167, preimage: paid.preimage })
    expect(sha256(asPayee.preimage)).toBe(payment_hash)
    const asPayer = await customer.lookupInvoice({ invoice })
    expect(asPayer).toMatchObject({ type: 'outgoing', state: 'settled', preimage: paid.preimage })

    const listed = await customer.listTransactions({})
    expect(listed.transactions).toEqual([expect.objectContaining({ type: 'outgoing', payment_hash, amount: 167 })])
    expect((await provider.listTransactions({})).transactions).toEqual([
      expect.objectContaining({ type: 'incoming', payment_hash })
    ])
  })

  it('refuses to pay an invoice twice, also when both payments race', async () => {
    const w = await wallet(await tempDir())
    const provider = client(w, 'provider')
    const customer = client(w, 'customer')

    const first = await provider.makeInvoice({ amount: 5_000 })
    await customer.payInvoice({ invoice: first.invoice })
    await expect(customer.payInvoice({ invoice: first.invoice })).rejects.toMatchObject({ code: 'PAYMENT_FAILED' })

    const second = await provider.makeInvoice({ amount: 7_000 })
    const otherCustomerConnection = client(w, 'customer')
    const results = await Promise.allSettled([
      customer.payInvoice({ invoice: second.invoice }),
      otherCustomerConnection.payInvoice({ invoice: second.invoice }),
      w.payInvoice('customer', second.invoice)
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect(r.reason).toMatchObject({ code: 'PAYMENT_FAILED' })
    }
    expect(w.balance('provider')).toBe(12_000)
    expect(w.balance('customer')).toBe(100_000_000 - 12_000)
  })

  it('refuses an expired invoice with PAYMENT_FAILED', async () => {
    let offsetMs = 0
    const w = await wallet(await tempDir(), { clock: () => Date.now() + offsetMs })
    const provider = client(w, 'provider')
    const { invoice, payment_hash } = await provider.makeInvoice({ amount: 1_000, expiry: 60 })
    offsetMs = 61_000

    await expect(client(w, 'customer').payInvoice({ invoice })).rejects.toMatchObject({
      code: 'PAYMENT_FAILED',
      message: expect.stringMatching(/expired/)
    })
    expect(await provider.lookupInvoice({ payment_hash })).toMatchObject({ state: 'expired' })
    expect(w.balance('customer')).toBe(100_000_000)
  })

  it('refuses a payment above the balance with INSUFFICIENT_BALANCE', async () => {
    const w = await wallet(await tempDir())
    const { invoice } = await client(w, 'customer').makeInvoice({ amount: 1 })
    await expect(client(w, 'provider').payInvoice({ invoice })).rejects.toMatchObject({ code: 'INSUFFICIENT_BALANCE' })
    expect(w.balance('provider')).toBe(0)
  })

  it("refuses a payment beyond the connection's budget with QUOTA_EXCEEDED", async () => {
    const w = await wallet(await tempDir())
    const app = await w.createAccount('app', { fundSats: 10, budgetSats: 1 })
    await rememberSecrets(w.dir)
    expect(app).toMatchObject({ balanceMsat: 10_000, budgetMsat: 1_000, spentMsat: 0 })
    const provider = client(w, 'provider')
    const spender = client(w, 'app')

    await spender.payInvoice({ invoice: (await provider.makeInvoice({ amount: 600 })).invoice })
    const over = (await provider.makeInvoice({ amount: 600 })).invoice
    await expect(spender.payInvoice({ invoice: over })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' })
    expect(w.account('app')).toMatchObject({ balanceMsat: 9_400, spentMsat: 600 })
  })

  it('refuses invoices it did not issue, and answers NOT_FOUND for unknown lookups', async () => {
    const w = await wallet(await tempDir())
    const customer = client(w, 'customer')
    await expect(customer.payInvoice({ invoice: foreignInvoice(1_000) })).rejects.toMatchObject({
      code: 'PAYMENT_FAILED'
    })
    await expect(customer.payInvoice({ invoice: 'lnbcrt1nonsense' })).rejects.toMatchObject({ code: 'OTHER' })
    // Same payment hash as a real invoice of ours, but signed by another node key.
    const real = await client(w, 'provider').makeInvoice({ amount: 500 })
    const forged = foreignInvoice(500, real.payment_hash)
    await expect(customer.payInvoice({ invoice: forged })).rejects.toMatchObject({ code: 'PAYMENT_FAILED' })
    expect(await client(w, 'provider').lookupInvoice({ payment_hash: real.payment_hash })).toMatchObject({
      state: 'pending'
    })
    await expect(customer.lookupInvoice({ payment_hash: 'ab'.repeat(32) })).rejects.toMatchObject({ code: 'NOT_FOUND' })

    // An account that neither issued nor paid an invoice cannot see it either.
    await w.createAccount('bystander')
    await rememberSecrets(w.dir)
    const { payment_hash } = await client(w, 'provider').makeInvoice({ amount: 10 })
    await expect(client(w, 'bystander').lookupInvoice({ payment_hash })).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect(w.balance('customer')).toBe(100_000_000)
  })

  it('keeps balances, invoices, transactions and connection URIs across a restart', async () => {
    const dir = await tempDir()
    const first = await wallet(dir)
    const provider = client(first, 'provider')
    const customer = client(first, 'customer')
    const paid = await provider.makeInvoice({ amount: 2_167, description: 'before restart' })
    await customer.payInvoice({ invoice: paid.invoice })
    const pending = await provider.makeInvoice({ amount: 99 })
    const before = {
      accounts: first.accounts(),
      nodePubkey: first.nodePubkey,
      provider: first.transactions('provider', { unpaid: true }),
      customer: first.transactions('customer')
    }
    await first.close()

    const second = await wallet(dir)
    expect({
      accounts: second.accounts(),
      nodePubkey: second.nodePubkey,
      provider: second.transactions('provider', { unpaid: true }),
      customer: second.transactions('customer')
    }).toEqual(before)

    // The same client objects (same URIs) keep working against the restarted wallet.
    expect(await customer.getBalance()).toEqual({ balance: 100_000_000 - 2_167 })
    expect(await provider.lookupInvoice({ payment_hash: paid.payment_hash })).toMatchObject({ state: 'settled' })
    await expect(customer.payInvoice({ invoice: paid.invoice })).rejects.toMatchObject({ code: 'PAYMENT_FAILED' })
    await customer.payInvoice({ invoice: pending.invoice })
    expect(second.balance('provider')).toBe(2_167 + 99)
  })

  it('answers a request under way when closed, without unhandled rejections', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onUnhandled)
    cleanups.push(() => process.off('unhandledRejection', onUnhandled))

    const dir = await tempDir()
    const w = await wallet(dir)
    const { invoice } = await client(w, 'provider').makeInvoice({ amount: 3_000 })
    let closing: Promise<void> | null = null
    w.on('request', ({ method }) => {
      if (method === 'pay_invoice') closing = w.close()
    })
    const paid = await client(w, 'customer').payInvoice({ invoice })
    expect(paid.preimage).toMatch(/^[0-9a-f]{64}$/)
    expect(closing).not.toBeNull()
    await closing
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(unhandled).toEqual([])
    expect(logLines.filter((line) => line.startsWith('dropped'))).toEqual([])
    await expect(w.payInvoice('customer', invoice)).rejects.toThrow(DevWalletError)

    // The directory was unlocked: the next wallet starts on it and sees the payment.
    const again = await wallet(dir)
    expect(again.balance('provider')).toBe(3_000)
  })

  it('does not settle, nor reply success, when the ledger cannot be written', async () => {
    const dir = await tempDir()
    const w = await wallet(dir)
    const { invoice } = await client(w, 'provider').makeInvoice({ amount: 4_000 })
    const customer = client(w, 'customer')
    // A non-empty directory where the ledger should go makes the atomic write's rename fail.
    await rm(join(dir, 'ledger.json'), { force: true })
    await mkdir(join(dir, 'ledger.json', 'in-the-way'), { recursive: true })
    await expect(customer.payInvoice({ invoice })).rejects.toMatchObject({ code: 'INTERNAL' })
    expect(w.balance('customer')).toBe(100_000_000)
    expect(w.balance('provider')).toBe(0)

    await rm(join(dir, 'ledger.json'), { recursive: true })
    await customer.payInvoice({ invoice })
    expect(w.balance('provider')).toBe(4_000)
  })

  it('serves again after its relay restarts without storage, republishing its info event', async () => {
    const own = await startRelay()
    cleanups.push(() => own.close())
    const w = await wallet(await tempDir(), { relayUrl: own.url })
    const customer = client(w, 'customer')
    expect(await customer.getBalance()).toEqual({ balance: 100_000_000 })

    const port = own.port
    await own.close()
    const restarted = await startRelay({ port })
    cleanups.push(() => restarted.close())
    // A fresh client needs the info event, which only the wallet's reconnect can have put back;
    // NWCClient waits for it to arrive on its subscription.
    const fresh = client(w, 'customer')
    expect(await fresh.getBalance()).toEqual({ balance: 100_000_000 })
    expect(await customer.getBalance()).toEqual({ balance: 100_000_000 })
  })

  it('refuses a second wallet on the same dir', async () => {
    const dir = await tempDir()
    await wallet(dir)
    await expect(startWallet({ relayUrl: relay.url, dir })).rejects.toMatchObject({ code: 'DIR_LOCKED' })
  })

  it('fails to start with RELAY_UNREACHABLE when the relay is down, leaving the dir usable', async () => {
    const dir = await tempDir()
    const gone = await startRelay()
    await gone.close()
    await expect(startWallet({ relayUrl: gone.url, dir })).rejects.toMatchObject({ code: 'RELAY_UNREACHABLE' })
    const w = await wallet(dir)
    expect(w.accounts()).toHaveLength(2)
  })

  it('rejects bad arguments on the local API with typed errors', async () => {
    const w = await wallet(await tempDir())
    await expect(w.createAccount('provider')).rejects.toMatchObject({ code: 'ACCOUNT_EXISTS' })
    await expect(w.createAccount('Bad Name!')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(w.makeInvoice('customer', { amountMsat: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(() => w.balance('nobody')).toThrow(expect.objectContaining({ code: 'UNKNOWN_ACCOUNT' }))
  })
})
