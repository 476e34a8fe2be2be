// The customer's wallet client through a NIP-47 outage (issue 10, item 22): a relay that refuses
// connections or a reply that never comes is not a failed payment. Within the caller's deadline the
// payment is looked up with backoff, a request that may have reached the wallet is never sent
// again, and when time is up the error says what happened. First against a scripted stand-in for
// @getalby/sdk's NWCClient that throws the SDK's own error classes, then the real session bin with
// its wallet's relay cut mid-session.

import net from 'node:net'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { killAll, spawnBin, startTestNetwork, type TestNetwork } from '@2020117/testkit'
import { NwcWallet, WalletError, loadNwcSdk } from '@2020117/wallet'
import { startFakeProvider, type FakeProvider } from './helpers/fake-provider.js'

const sdk = await loadNwcSdk()
const PREIMAGE = 'ab'.repeat(32)
const HASH = 'cd'.repeat(32)

type Step = () => unknown
const refused = () => {
  throw new sdk.Nip47NetworkError('Failed to connect to ws://127.0.0.1:1', 'OTHER')
}
const noReply = () => {
  throw new sdk.Nip47ReplyTimeoutError('reply timeout: event 00', 'INTERNAL')
}
const notFound = () => {
  throw new sdk.Nip47WalletError('invoice not found', 'NOT_FOUND')
}

/** A client that answers each call with the next step of its script (the last one repeats). */
function staged(script: { pay: Step[]; lookup?: Step[]; info?: Step[] }) {
  const calls = { pay: 0, lookup: 0 }
  const next = (steps: Step[], n: number) => Promise.resolve().then(steps[Math.min(n, steps.length - 1)] as Step)
  const client = {
    walletPubkey: 'ee'.repeat(32),
    relayUrls: ['ws://127.0.0.1:1'],
    payInvoice: () => next(script.pay, calls.pay++),
    lookupInvoice: () => next(script.lookup ?? [notFound], calls.lookup++),
    getInfo: () => next(script.info ?? [refused], 0),
    close: () => {}
  }
  return { calls, client: client as unknown as Parameters<typeof NwcWallet.withClient>[0] }
}

const opts = { retryMs: { first: 5, max: 20 } }

async function failure(p: Promise<unknown>): Promise<WalletError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(WalletError)
  return err as WalletError
}

test('a relay that refuses connections is waited out: the payment goes out once the wallet is back, and is paid once', async () => {
  const { calls, client } = staged({
    pay: [refused, refused, () => ({ preimage: PREIMAGE, fees_paid: 0 })],
    lookup: [refused, notFound]
  })
  const wallet = await NwcWallet.withClient(client, opts)
  const paid = await wallet.pay('lnbcrt1', HASH, { until: Date.now() + 30_000 })
  expect(paid).toEqual({ preimage: PREIMAGE, feesMsat: 0 })
  // Each pay_invoice before the last provably never left: no relay connection.
  expect(calls.pay).toBe(3)
})

test('a pay_invoice that got no reply is never sent again: it is looked up, through the outage, until it settles', async () => {
  const settled = () => ({ state: 'settled', preimage: PREIMAGE, fees_paid: 3, settled_at: 1 })
  const { calls, client } = staged({
    pay: [noReply],
    lookup: [refused, refused, () => ({ state: 'pending' }), settled]
  })
  const wallet = await NwcWallet.withClient(client, opts)
  expect(await wallet.pay('lnbcrt1', HASH, { until: Date.now() + 30_000 })).toEqual({ preimage: PREIMAGE, feesMsat: 3 })
  expect(calls.pay).toBe(1)
  expect(calls.lookup).toBe(4)
})

test('an outage that outlasts the deadline ends in an error that says what happened: no connection, or no reply', async () => {
  const down = staged({ pay: [refused], lookup: [refused] })
  const e1 = await failure(
    (await NwcWallet.withClient(down.client, opts)).pay('lnbcrt1', HASH, { until: Date.now() + 100 })
  )
  expect(e1.code).toBe('WALLET_UNREACHABLE')
  expect(e1.message).toMatch(/could not connect to the wallet's relay ws:\/\/127\.0\.0\.1:1/)
  expect(e1.message).not.toMatch(/no reply/)

  const silent = staged({ pay: [noReply], lookup: [refused] })
  const e2 = await failure(
    (await NwcWallet.withClient(silent.client, opts)).pay('lnbcrt1', HASH, { until: Date.now() + 100 })
  )
  expect(e2.code).toBe('PAYMENT_PENDING')
  expect(silent.calls.pay).toBe(1)
})

test('a payment the wallet reports failed is not sent again', async () => {
  const { calls, client } = staged({ pay: [noReply], lookup: [() => ({ state: 'failed' })] })
  const e = await failure(
    (await NwcWallet.withClient(client, opts)).pay('lnbcrt1', HASH, { until: Date.now() + 30_000 })
  )
  expect(e.code).toBe('PAYMENT_FAILED')
  expect(calls.pay).toBe(1)
})

test('settling a pending payment only looks it up, never pays: settled with its fee, or null while still unknown', async () => {
  const settled = () => ({ state: 'settled', preimage: PREIMAGE, fees_paid: 7, settled_at: 1 })
  const late = staged({ pay: [noReply], lookup: [noReply, refused, () => ({ state: 'pending' }), settled] })
  const wallet = await NwcWallet.withClient(late.client, opts)
  expect(await wallet.settle(HASH, { until: Date.now() + 30_000 })).toEqual({ preimage: PREIMAGE, feesMsat: 7 })
  expect(late.calls).toEqual({ pay: 0, lookup: 4 })

  const silent = staged({ pay: [noReply], lookup: [noReply] })
  const waits: string[] = []
  const none = await (
    await NwcWallet.withClient(silent.client, opts)
  ).settle(HASH, { until: Date.now() + 200, onwait: (why) => waits.push(why) })
  expect(none).toBeNull()
  expect(silent.calls.pay).toBe(0)
  expect(waits.length).toBeGreaterThan(0)
  expect(waits[0]).toMatch(/lookup_invoice got no reply/)
})

test('the routing fee pay_invoice reports is returned with the preimage', async () => {
  const { client } = staged({ pay: [() => ({ preimage: PREIMAGE, fees_paid: 1234 })] })
  expect(await (await NwcWallet.withClient(client, opts)).pay('lnbcrt1', HASH)).toEqual({
    preimage: PREIMAGE,
    feesMsat: 1234
  })
})

test('any other request says "could not connect" for a refused connection, not "no reply"', async () => {
  const { client } = staged({ pay: [refused], info: [refused] })
  const e = await failure((await NwcWallet.withClient(client, opts)).info())
  expect(e.code).toBe('WALLET_UNREACHABLE')
  expect(e.message).toMatch(/get_info could not connect/)
})

// ---- The real session bin through an outage of its wallet's relay ----
// The customer reaches the relay through a TCP relay-proxy the test can take down: while down it
// accepts each connection and cuts it at once (the SDK sees no relay), so the test counts the
// customer's attempts and brings the relay back on an event (the second refused attempt after the
// bill came), never on a timer. The wallet service itself stays on the real relay.

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

interface RelayProxy {
  url: string
  down(): void
  up(): void
  /** Resolves once `n` connections were refused while down. */
  refused(n: number): Promise<void>
  close(): void
}

function relayProxy(target: URL): Promise<RelayProxy> {
  let isDown = false
  let refusedCount = 0
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const open = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    sock.on('error', () => {})
    if (isDown) {
      refusedCount++
      for (const w of waiters.filter((w) => refusedCount >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
      return void sock.destroy()
    }
    const upstream = net.connect(Number(target.port), target.hostname)
    upstream.on('error', () => sock.destroy())
    open.add(sock).add(upstream)
    sock.on('close', () => (upstream.destroy(), open.delete(sock)))
    upstream.on('close', () => (sock.destroy(), open.delete(upstream)))
    sock.pipe(upstream).pipe(sock)
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      resolve({
        url: `ws://127.0.0.1:${port}`,
        down() {
          isDown = true
          refusedCount = 0
          for (const s of open) s.destroy()
        },
        up() {
          isDown = false
        },
        refused(n) {
          return refusedCount >= n ? Promise.resolve() : new Promise((r) => waiters.push({ n, resolve: r }))
        },
        close() {
          for (const s of open) s.destroy()
          server.close()
        }
      })
    })
  })
}

test("the session bin rides out an outage of its wallet's relay shorter than the grace: the tick is paid once, late, and the summary equals the ledger", async () => {
  const perTick = tickAmountMsat(5, 2)
  const state = network.devnet.state
  const relay = new URL(state.relays[0] as string)
  const proxy = await relayProxy(relay)
  const uri = (state.accounts.customer as { nwc_uri: string }).nwc_uri.replace(
    /relay=[^&]+/,
    `relay=${encodeURIComponent(proxy.url)}`
  )
  let paymentsDuringOutage = -1
  fake = await startFakeProvider(network, {
    graceSeconds: 10,
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      proxy.down()
      const inv = await s.invoice()
      await s.at(2000)
      const before = network.devnet.wallet.transactions('customer').length
      s.tick(1, inv)
      // Two attempts of the customer's wallet client met no relay: then the relay comes back.
      await proxy.refused(2)
      paymentsDuringOutage = network.devnet.wallet.transactions('customer').length - before
      proxy.up()
      await s.paid(1)
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
  await fake.scenarioDone()
  await session.line(/paid tick 1:/)
  session.kill('SIGINT')
  const summary = await session.json<{ reason: string; ticks_paid: number; msat_paid: number }>((x) => 'reason' in x)
  expect(await session.exited).toBe(0)
  proxy.close()
  expect(paymentsDuringOutage).toBe(0)
  expect(summary).toMatchObject({ reason: 'CUSTOMER_QUIT', ticks_paid: 2, msat_paid: 2 * perTick })
  expect(before - network.balanceMsat('customer')).toBe(2 * perTick)
  expect(session.stderr()).not.toMatch(/PAYMENT_FAILED|could not pay/)
}, 60_000)
