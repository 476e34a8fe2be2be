// Interop: our 2020117-job buys from a provider written with code nobody here wrote,
// @nostr-dev-kit/ndk 3.0.3 (helpers/ndk-provider.mjs), as DVM authors write them: NDK's
// `payment_required` spelling, its feedback `e` tag with the "job" marker, its own key as the first
// `p` tag, its result helper. The invoice comes from the devnet wallet's provider account; the
// ledger judges the payment.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { RelayPool } from '@2020117/nostr'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

interface Line {
  event: string
  [key: string]: unknown
}

const lines: Line[] = []
const waiting: Array<{ pred: (l: Line) => boolean; resolve: (l: Line) => void }> = []

/** The next line of the NDK provider that satisfies `pred` (already printed ones count once). */
function next(pred: (l: Line) => boolean): Promise<Line> {
  const at = lines.findIndex(pred)
  if (at >= 0) return Promise.resolve(lines.splice(at, 1)[0] as Line)
  return new Promise((resolve) => waiting.push({ pred, resolve }))
}

const net = await startTestNetwork({ teardown: afterAll })
// Plain node, without vitest's --conditions=source, and no secret of ours in its environment.
const ndkProvider = spawn(process.execPath, [fileURLToPath(new URL('./helpers/ndk-provider.mjs', import.meta.url))], {
  env: {
    PATH: process.env.PATH,
    RELAY: net.devnet.relay.url,
    NWC_URI: net.devnet.state.accounts.provider!.nwc_uri,
    KIND: '5050',
    PRICE_MSAT: '6000'
  },
  stdio: ['pipe', 'pipe', 'inherit']
})
afterAll(() => {
  ndkProvider.kill('SIGKILL')
})
createInterface({ input: ndkProvider.stdout! }).on('line', (text) => {
  const line = JSON.parse(text) as Line
  const w = waiting.find((x) => x.pred(line))
  if (w) {
    waiting.splice(waiting.indexOf(w), 1)
    w.resolve(line)
  } else lines.push(line)
})
// Payments reach the NDK process as a line once the ledger has them: no polling on either side.
net.devnet.wallet.on('payment', (p) => ndkProvider.stdin!.write(`paid ${p.paymentHash}\n`))
const exited = once(ndkProvider, 'exit').then(() => Promise.reject(new Error('the NDK provider exited before ready')))
const npub = (await Promise.race([next((l) => l.event === 'ready'), exited])).npub as string

test('2020117-job buys from an NDK provider: payment_required read, paid once, the result delivered', async () => {
  const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=hello NDK',
    '--bid=10',
    `--provider=${npub}`,
    '--timeout=30',
    '--json'
  ])
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  const offered = await next((l) => l.event === 'offered' && l.request === summary.request_id)
  expect(offered.request_tags).toContainEqual(['i', 'hello NDK', 'text'])
  await next((l) => l.event === 'delivered' && l.request === summary.request_id)
  expect(summary).toMatchObject({ provider: npub, status: 'delivered', result: 'NDK read: hello NDK', msat_paid: 6000 })
  expect(before.customer - net.balanceMsat('customer')).toBe(6000)
  expect(net.balanceMsat('provider') - before.provider).toBe(6000)
})

test('a broadcast request (no --provider): the NDK provider offers, is paid once, and delivers', async () => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=anyone with NDK',
    '--bid=10',
    '--offer-wait=0',
    '--timeout=30',
    '--json'
  ])
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({ provider: npub, status: 'delivered', msat_paid: 6000 })
  expect(before - net.balanceMsat('customer')).toBe(6000)
})

test('--encrypt to the NDK provider: NDK decrypts the NIP-44 request, its encrypted answer is read; no plaintext on the relay', async () => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=the secret plan',
    '--bid=10',
    `--provider=${npub}`,
    '--encrypt',
    '--timeout=30',
    '--json'
  ])
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', result: 'NDK read: the secret plan', msat_paid: 6000 })
  const offered = await next((l) => l.event === 'offered' && l.request === summary.request_id)
  expect(offered.request_tags).toContainEqual(['encrypted'])
  const onRelay = await relayEvents(summary.request_id as string)
  expect(onRelay.length).toBeGreaterThanOrEqual(3) // the request, the offer, the result
  expect(JSON.stringify(onRelay)).not.toContain('secret plan')
  expect(before - net.balanceMsat('customer')).toBe(6000)
})

/** Every event the relay holds of this job: the request and the answers that name it. */
async function relayEvents(requestId: string): Promise<unknown[]> {
  const pool = new RelayPool([net.devnet.relay.url])
  try {
    return [...(await pool.query({ ids: [requestId] }, 2000)), ...(await pool.query({ '#e': [requestId] }, 2000))]
  } finally {
    pool.close()
  }
}
