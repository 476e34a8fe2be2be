// NIP-47 through a relay with NIP-42 on: the wallet service (NWCWalletService) and the app
// (NwcWallet, on NWCClient) both answer the relay's challenge with their own connection keys, so a
// pay_invoice round trip works where unauthenticated writes and NIP-47 reads are refused. Judged by
// the ledger; neither secret may reach a log.

import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { startRelay } from '@2020117/relay'
import { NwcWallet, setWalletLogSink } from '@2020117/wallet'
import { startWallet } from '../src/index.js'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

test('a pay_invoice round trip through a relay with auth on for writes and NIP-47 reads', async () => {
  const relay = await startRelay({ port: 0, policy: { auth: 'all' } })
  cleanups.push(() => relay.close())
  const dir = await mkdtemp(join(tmpdir(), 'devwallet-auth-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const lines: string[] = []
  const log = (line: string) => lines.push(line)
  setWalletLogSink({ warn: log, debug: log })
  cleanups.push(() => setWalletLogSink(null))
  const wallet = await startWallet({ relayUrl: relay.url, dir, log })
  cleanups.push(() => wallet.close())

  const provider = await NwcWallet.connect(wallet.account('provider').nwcUri)
  cleanups.push(() => provider.close())
  const customer = await NwcWallet.connect(wallet.account('customer').nwcUri)
  cleanups.push(() => customer.close())
  const { invoice, paymentHash } = await provider.makeInvoice(21_000, 'auth test', 600)
  const paid = await customer.pay(invoice, paymentHash)
  expect(paid.preimage).toMatch(/^[0-9a-f]{64}$/)
  expect(wallet.balance('provider')).toBe(21_000)
  expect(wallet.balance('customer')).toBe(100_000_000 - 21_000)

  const ledger = JSON.parse(await readFile(join(dir, 'ledger.json'), 'utf8')) as {
    accounts: Record<string, { serviceSecret: string; clientSecret: string }>
  }
  const output = lines.join('\n')
  for (const { serviceSecret, clientSecret } of Object.values(ledger.accounts)) {
    expect(output).not.toContain(serviceSecret)
    expect(output).not.toContain(clientSecret)
  }
})
