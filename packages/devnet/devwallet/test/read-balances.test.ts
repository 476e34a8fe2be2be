// readBalances(dir): the balances on disk, readable without opening (and locking) the wallet.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startRelay } from '@2020117/relay'
import { readBalances, startWallet } from '../src/index.js'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devwallet-balances-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

describe('readBalances', () => {
  it('is null for an empty dir and for a dir that does not exist', async () => {
    const dir = await tempDir()
    expect(await readBalances(dir)).toBeNull()
    expect(await readBalances(join(dir, 'missing'))).toBeNull()
  })

  it("matches the running wallet's balances, also after a payment", async () => {
    const relay = await startRelay()
    cleanups.push(() => relay.close())
    const dir = await tempDir()
    const wallet = await startWallet({ relayUrl: relay.url, dir })
    cleanups.push(() => wallet.close())

    const view = () =>
      wallet
        .accounts()
        .map(({ name, balanceMsat, spentMsat, budgetMsat }) => ({ name, balanceMsat, spentMsat, budgetMsat }))
        .sort((a, b) => a.name.localeCompare(b.name))
    const sorted = async () => (await readBalances(dir))?.slice().sort((a, b) => a.name.localeCompare(b.name))

    expect(await sorted()).toEqual(view())
    expect(await sorted()).toEqual([
      { name: 'customer', balanceMsat: 100_000_000, spentMsat: 0, budgetMsat: null },
      { name: 'provider', balanceMsat: 0, spentMsat: 0, budgetMsat: null }
    ])

    await wallet.createAccount('capped', { fundSats: 50, budgetSats: 20 })
    const { invoice } = await wallet.makeInvoice('provider', { amountMsat: 1_234 })
    await wallet.payInvoice('customer', invoice)

    expect(await sorted()).toEqual(view())
    expect(await sorted()).toEqual([
      { name: 'capped', balanceMsat: 50_000, spentMsat: 0, budgetMsat: 20_000 },
      { name: 'customer', balanceMsat: 100_000_000 - 1_234, spentMsat: 1_234, budgetMsat: null },
      { name: 'provider', balanceMsat: 1_234, spentMsat: 0, budgetMsat: null }
    ])

    // It reads the file, not the process: the same answer once the wallet is closed.
    await wallet.close()
    expect(await sorted()).toEqual(view())
  })

  it('returns only names and amounts, never the connection secrets', async () => {
    const relay = await startRelay()
    cleanups.push(() => relay.close())
    const dir = await tempDir()
    const wallet = await startWallet({ relayUrl: relay.url, dir })
    cleanups.push(() => wallet.close())
    const records = await readBalances(dir)
    for (const record of records ?? [])
      expect(Object.keys(record).sort()).toEqual(['balanceMsat', 'budgetMsat', 'name', 'spentMsat'])
  })

  it('refuses a ledger that is not one', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'ledger.json'), '{"version": 2}')
    await expect(readBalances(dir)).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' })
  })
})
