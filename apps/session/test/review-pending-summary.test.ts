// Review (issue 10 items 14 and 22, seam): a payment the wallet made while its replies were lost is
// left out of the summary.
//
// NwcWallet.pay gives up at the paid time plus the grace with PAYMENT_PENDING when pay_invoice may
// have reached the wallet but no reply (nor any lookup) came back. CustomerSession.ontick then quits
// with PAYMENT_FAILED at once (apps/session/src/customer.ts, `if (paid instanceof Error)`), and
// finish() prints the summary from the guard, which never recorded that payment. The wallet did
// pay: the ledger shows one tick more than the summary and --json say, and neither side counts it.
//
// Against the real session bin: its wallet's relay is reached through a proxy that, once muted,
// still carries the customer's requests to the relay (the wallet gets them and pays) but no longer
// carries anything back. The summary must not under-report what the ledger shows.

import net from 'node:net'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { killAll, spawnBin, startTestNetwork, type TestNetwork } from '@2020117/testkit'
import { startFakeProvider, type FakeProvider } from './helpers/fake-provider.js'

let network: TestNetwork
let fake: FakeProvider | null = null

beforeAll(async () => {
  network = await startTestNetwork()
})

afterAll(async () => {
  await killAll()
  await fake?.close()
  await network?.close()
})

/** A TCP proxy to the relay that can go deaf one way: requests still pass, replies are dropped. */
function muteProxy(target: URL): Promise<{ url: string; mute(): void; close(): void }> {
  let muted = false
  const open = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    sock.on('error', () => {})
    const upstream = net.connect(Number(target.port), target.hostname)
    upstream.on('error', () => sock.destroy())
    open.add(sock).add(upstream)
    sock.on('close', () => (upstream.destroy(), open.delete(sock)))
    upstream.on('close', () => (sock.destroy(), open.delete(upstream)))
    sock.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (!muted) sock.write(chunk)
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      resolve({
        url: `ws://127.0.0.1:${port}`,
        mute: () => void (muted = true),
        close() {
          for (const s of open) s.destroy()
          server.close()
        }
      })
    })
  })
}

test('a payment the wallet made while its replies were lost is counted in the summary (or the summary says it may have been paid)', async () => {
  const perTick = tickAmountMsat(5, 2)
  const state = network.devnet.state
  const proxy = await muteProxy(new URL(state.relays[0] as string))
  const uri = (state.accounts.customer as { nwc_uri: string }).nwc_uri.replace(
    /relay=[^&]+/,
    `relay=${encodeURIComponent(proxy.url)}`
  )
  let walletPaidTick1 = false
  fake = await startFakeProvider(network, {
    graceSeconds: 10,
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      const inv = await s.invoice()
      proxy.mute()
      await s.at(2000)
      const before = network.devnet.wallet.transactions('customer').length
      network.devnet.wallet.once(
        'payment',
        () => (walletPaidTick1 = network.devnet.wallet.transactions('customer').length > before)
      )
      s.tick(1, inv)
    }
  })
  const before = network.balanceMsat('customer')
  const session = spawnBin('session', [
    network.flag,
    `--nwc=${uri}`,
    '--budget=500',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--swarm-key=${fake.swarmKey}`
  ])
  // msat_pending: a name for what a fix might report as "may have been paid"; absent today.
  const summary = await session.json<{ reason: string; ticks_paid: number; msat_paid: number; msat_pending?: number }>(
    (x) => 'reason' in x
  )
  await session.exited
  proxy.close()
  const walletPaid = before - network.balanceMsat('customer')
  // The wallet paid both ticks: tick 1 went through although no reply came back.
  expect(walletPaidTick1).toBe(true)
  expect(walletPaid).toBe(2 * perTick)
  const reported = summary.msat_paid + (summary.msat_pending ?? 0)
  expect(
    reported,
    `the summary says ${summary.msat_paid} msat (${summary.reason}), the ledger ${walletPaid} msat`
  ).toBe(walletPaid)
}, 60_000)
