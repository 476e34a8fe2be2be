// The relay restarts while 2020117-job waits for offers: the customer's subscription comes back with
// it, and the offer published after the restart is heard and paid, once.

import { once } from 'node:events'
import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5050, { teardown: afterAll })

test('a relay restart while waiting: the offer after it is heard, paid once, the result delivered', async () => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=through an outage',
    '--bid=10',
    `--provider=${provider.npub}`,
    '--timeout=60',
    '--json'
  ])
  const request = await provider.nextRequest()
  const walletBack = await walletServicesBack()
  const providerBack = once(provider.pool, 'reconnect')
  await net.stop('relay')
  await net.start('relay')
  await job.line(/relay .* is back/)
  await providerBack
  // NIP-47 requests are ephemeral: one sent before the wallet listens again would be lost (and, as
  // it may have arrived, never sent again). Each wallet account republishes its info event over the
  // socket it subscribed on once it is back: seen on the relay, its requests reach it.
  await walletBack.back
  const invoice = await provider.offer(request, 3000)
  await provider.paid(invoice)
  await provider.deliver(request, 'still here')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', msat_paid: 3000, result: 'still here' })
  expect(before - net.balanceMsat('customer')).toBe(3000)
})

/**
 * `back` resolves once both wallet accounts (customer, provider) published an info event other
 * than the one the relay held before the outage. Told apart by id, not by time: `created_at` is in
 * seconds, and the network may have come up in the very second this is called, when the old events
 * would pass for new ones and the offer would go out before the wallets listen again (the run then
 * waits out a lost NIP-47 request: the test timed out). A republished event has another id: the
 * wallets redial at least 1 s after the drop (their SDK's first reconnect delay), so a later
 * `created_at`.
 */
async function walletServicesBack(): Promise<{ back: Promise<void> }> {
  const accounts = net.devnet.state.accounts
  const services = [accounts.customer!.nwc_uri, accounts.provider!.nwc_uri].map(
    (uri) => /^nostr\+walletconnect:\/\/([0-9a-f]{64})/.exec(uri)![1]!
  )
  const old = new Set((await provider.pool.query({ kinds: [13194], authors: services })).map((e) => e.id))
  expect(old.size).toBe(services.length)
  const seen = new Set<string>()
  const back = new Promise<void>((resolve) => {
    const sub = provider.pool.subscribe({ kinds: [13194], authors: services }, (event) => {
      if (old.has(event.id)) return
      seen.add(event.pubkey)
      if (seen.size === services.length) {
        sub.close()
        resolve()
      }
    })
  })
  return { back }
}
