// Acceptance: the devnet's wallet moves money between accounts over Nostr Wallet Connect, exactly
// to the msat, refuses bad payments with the NIP-47 error codes, and keeps balances and connection
// URIs across a restart.

import { readFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadNwcSdk, readBalances } from '@2020117/devwallet'
import type { Devnet } from '../src/index.js'
import { nwcSecret, removeDir, startTestDevnet, tempDir } from './helpers/devnet.js'

type NwcModule = Awaited<ReturnType<typeof loadNwcSdk>>
type Client = InstanceType<NwcModule['NWCClient']>

let NWCClient: NwcModule['NWCClient']
let dir: string
let devnet: Devnet
const log: string[] = []
const consoleLines: string[] = []
const secrets = new Set<string>()
const clients: Client[] = []

beforeAll(async () => {
  // The SDK reports failed requests on console.error: collect them instead of printing, and check
  // at the end that no secret ever reached the console or the devnet log.
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleLines.push(
        args
          .map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === 'string' ? a : safeJson(a)))
          .join(' ')
      )
    })
  }
  NWCClient = (await loadNwcSdk()).NWCClient
  dir = await tempDir()
  devnet = await startTestDevnet(dir, log, { webui: false })
  await rememberSecrets()
})

afterEach(() => {
  for (const client of clients.splice(0)) client.close()
})

afterAll(async () => {
  await devnet?.close()
  await removeDir(dir)
  vi.restoreAllMocks()
  const output = [...consoleLines, ...log].join('\n')
  expect(secrets.size).toBeGreaterThan(0)
  for (const secret of secrets) expect(output.includes(secret), 'a wallet secret was printed').toBe(false)
})

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

async function rememberSecrets(): Promise<void> {
  const ledger = JSON.parse(await readFile(join(dir, 'wallet', 'ledger.json'), 'utf8')) as {
    accounts: Record<string, { serviceSecret: string; clientSecret: string }>
  }
  for (const account of Object.values(ledger.accounts)) {
    secrets.add(account.serviceSecret)
    secrets.add(account.clientSecret)
  }
  secrets.add((await readFile(join(dir, 'wallet', 'node.key'), 'utf8')).trim())
}

function client(uri: string): Client {
  const c = new NWCClient({ nostrWalletConnectUrl: uri })
  clients.push(c)
  return c
}

const customerUri = (): string => devnet.state.accounts['customer']!.nwc_uri
const providerUri = (): string => devnet.state.accounts['provider']!.nwc_uri

/** Balances as both NWC clients and the ledger on disk see them, in msat. */
async function balances(
  customer: Client,
  provider: Client
): Promise<{ nwc: Record<string, number>; ledger: Record<string, number> }> {
  const [c, p] = await Promise.all([customer.getBalance(), provider.getBalance()])
  const records = await readBalances(join(dir, 'wallet'))
  if (records === null) throw new Error('no ledger')
  const ledger = Object.fromEntries(
    records.filter((r) => r.name === 'customer' || r.name === 'provider').map((r) => [r.name, r.balanceMsat])
  )
  return { nwc: { customer: c.balance, provider: p.balance }, ledger }
}

/** Waits on a timer until the wall clock reaches `ms` (the wallet's clock is the real one here). */
async function wallClockReaches(ms: number): Promise<void> {
  while (Date.now() < ms) await new Promise((resolve) => setTimeout(resolve, ms - Date.now() + 1))
}

describe('devnet wallet over NWC', () => {
  it('starts with a funded customer and an empty provider', async () => {
    const customer = client(customerUri())
    const provider = client(providerUri())
    expect(await balances(customer, provider)).toEqual({
      nwc: { customer: 100_000_000, provider: 0 },
      ledger: { customer: 100_000_000, provider: 0 }
    })
  })

  it('moves exactly the invoiced amount from customer to provider (msat and whole-sat amounts)', async () => {
    const customer = client(customerUri())
    const provider = client(providerUri())
    for (const amount of [167, 21_000]) {
      const before = await balances(customer, provider)
      const invoice = await provider.makeInvoice({ amount, description: `devnet acceptance ${amount} msat` })
      expect(invoice.invoice).toMatch(/^lnbcrt/)
      expect(invoice.amount).toBe(amount)
      const paid = await customer.payInvoice({ invoice: invoice.invoice })
      expect(createHash('sha256').update(Buffer.from(paid.preimage, 'hex')).digest('hex')).toBe(invoice.payment_hash)
      const after = await balances(customer, provider)
      for (const view of ['nwc', 'ledger'] as const) {
        expect(after[view].customer, `${view} customer after paying ${amount}`).toBe(before[view].customer! - amount)
        expect(after[view].provider, `${view} provider after paying ${amount}`).toBe(before[view].provider! + amount)
      }
      expect(await provider.lookupInvoice({ payment_hash: invoice.payment_hash })).toMatchObject({ state: 'settled' })
    }
    expect(devnet.wallet.balance('provider')).toBe(21_167)
  })

  it('refuses to pay an invoice twice with PAYMENT_FAILED', async () => {
    const customer = client(customerUri())
    const provider = client(providerUri())
    const { invoice } = await provider.makeInvoice({ amount: 5_000 })
    await customer.payInvoice({ invoice })
    const before = await balances(customer, provider)
    await expect(customer.payInvoice({ invoice })).rejects.toMatchObject({ code: 'PAYMENT_FAILED' })
    expect(await balances(customer, provider)).toEqual(before)
  })

  it('refuses an expired invoice with PAYMENT_FAILED', async () => {
    const customer = client(customerUri())
    const provider = client(providerUri())
    const made = await provider.makeInvoice({ amount: 2_000, expiry: 1 })
    expect(made.expires_at).toBeGreaterThan(0)
    // startDevnet does not take the wallet's `clock` option, so this waits for the real expiry
    // (at most one second): a timer set to the exact expiry time, not a guess.
    await wallClockReaches(made.expires_at * 1000)
    const before = await balances(customer, provider)
    await expect(customer.payInvoice({ invoice: made.invoice })).rejects.toMatchObject({
      code: 'PAYMENT_FAILED',
      message: expect.stringMatching(/expired/)
    })
    expect(await provider.lookupInvoice({ payment_hash: made.payment_hash })).toMatchObject({ state: 'expired' })
    expect(await balances(customer, provider)).toEqual(before)
  })

  it('refuses a payment above the balance with INSUFFICIENT_BALANCE', async () => {
    const low = await devnet.wallet.createAccount('low', { fundSats: 1 })
    await rememberSecrets()
    expect(low.balanceMsat).toBe(1_000)
    const lowClient = client(low.nwcUri)
    const provider = client(providerUri())
    const { invoice } = await provider.makeInvoice({ amount: 1_001 })
    await expect(lowClient.payInvoice({ invoice })).rejects.toMatchObject({ code: 'INSUFFICIENT_BALANCE' })
    expect((await lowClient.getBalance()).balance).toBe(1_000)
    const records = await readBalances(join(dir, 'wallet'))
    expect(records?.find((r) => r.name === 'low')?.balanceMsat).toBe(1_000)

    // Exactly the balance is fine: the refusal was about the amount.
    const exact = await provider.makeInvoice({ amount: 1_000 })
    await lowClient.payInvoice({ invoice: exact.invoice })
    expect((await lowClient.getBalance()).balance).toBe(0)
  })

  it('keeps balances and NWC URIs across a restart, and the old URIs still work', async () => {
    const oldCustomerUri = customerUri()
    const oldProviderUri = providerUri()
    const before = await balances(client(oldCustomerUri), client(oldProviderUri))
    for (const c of clients.splice(0)) c.close()
    const relayPort = devnet.relay.port

    await devnet.close()
    // The relay URL is part of the NWC URI, so the relay comes back on the same port (the one
    // the OS gave it the first time), as the fixed default ports do for a user.
    devnet = await startTestDevnet(dir, log, { webui: false, relayPort })
    expect(devnet.state.accounts['customer']?.nwc_uri).toBe(oldCustomerUri)
    expect(devnet.state.accounts['provider']?.nwc_uri).toBe(oldProviderUri)

    const customer = client(oldCustomerUri)
    const provider = client(oldProviderUri)
    expect(await balances(customer, provider)).toEqual(before)
    expect(before.nwc).toEqual(before.ledger)

    // And they still pay.
    const { invoice } = await provider.makeInvoice({ amount: 333 })
    await customer.payInvoice({ invoice })
    const after = await balances(customer, provider)
    expect(after.nwc).toEqual({ customer: before.nwc.customer! - 333, provider: before.nwc.provider! + 333 })
    expect(after.ledger).toEqual(after.nwc)
  })
})

describe('no secrets in output', () => {
  it('NWC URIs carry secrets that the tests then look for in the output', () => {
    expect(secrets.has(nwcSecret(customerUri()))).toBe(true)
  })
})
