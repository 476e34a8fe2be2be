// An outage on demand: the devnet's DHT, relay and wallet stop and start again on the same ports
// with the same state, so that end-to-end tests can restart the network under running bins. An
// NWC client made before the outage (the SDK's own relay connection) pays again after it.

import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import { loadNwcSdk } from '@2020117/devwallet'
import type { Devnet } from '../src/index.js'
import { removeDir, startTestDevnet, tempDir } from './helpers/devnet.js'

let dir: string
let devnet: Devnet
const log: string[] = []

beforeAll(async () => {
  // The SDK reports a refused connection on console.error; keep the test output clean.
  vi.spyOn(console, 'error').mockImplementation(() => {})
  dir = await tempDir()
  devnet = await startTestDevnet(dir, log, { webui: false })
})

afterAll(async () => {
  await devnet?.close()
  await removeDir(dir)
  vi.restoreAllMocks()
})

test(
  'stop and start keep the ports, the ledger and the NWC URIs, and a client from before pays after',
  { timeout: 30_000 },
  async () => {
    const { NWCClient } = await loadNwcSdk()
    const customer = new NWCClient({ nostrWalletConnectUrl: devnet.state.accounts['customer']!.nwc_uri })
    const provider = new NWCClient({ nostrWalletConnectUrl: devnet.state.accounts['provider']!.nwc_uri })
    try {
      await customer.payInvoice({ invoice: (await provider.makeInvoice({ amount: 1_000 })).invoice })
      const balance = devnet.wallet.balance('customer')
      const ports = { dht: devnet.testnet.bootstrap[0]!.port, relay: devnet.relay.port }

      await devnet.stop()
      expect(log.filter((l) => / stopped$/.test(l)).map((l) => l.split(/\s+/)[0])).toEqual(['wallet', 'relay', 'dht'])
      await expect(provider.makeInvoice({ amount: 1_000 })).rejects.toThrow()
      await devnet.start()

      expect({ dht: devnet.testnet.bootstrap[0]!.port, relay: devnet.relay.port }).toEqual(ports)
      expect(devnet.wallet.balance('customer')).toBe(balance)
      await customer.payInvoice({ invoice: (await provider.makeInvoice({ amount: 2_000 })).invoice })
      expect(devnet.wallet.balance('customer')).toBe(balance - 2_000)
      expect((await customer.getBalance()).balance).toBe(balance - 2_000)
    } finally {
      customer.close()
      provider.close()
    }
  }
)

test('one part stops alone: the relay goes, the DHT stays', async () => {
  const testnet = devnet.testnet
  await devnet.stop('relay')
  expect(devnet.testnet).toBe(testnet)
  await devnet.start('relay')
  expect(devnet.relay.url).toBe(devnet.state.relays[0])
})
