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
  const walletBack = walletServicesBack()
  const providerBack = once(provider.pool, 'reconnect')
  await net.stop('relay')
  await net.start('relay')
  await job.line(/relay .* is back/)
  await providerBack
  // NIP-47 requests are ephemeral: one sent before the wallet listens again would be lost (and, as
  // it may have arrived, never sent again). Each wallet account republishes its info event over the
  // socket it subscribed on once it is back: seen on the relay, its requests reach it.
  await walletBack
  const invoice = await provider.offer(request, 3000)
  await provider.paid(invoice)
  await provider.deliver(request, 'still here')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({ status: 'delivered', msat_paid: 3000, result: 'still here' })
  expect(before - net.balanceMsat('customer')).toBe(3000)
})

/** Resolves once both wallet accounts (customer, provider) published a newer NIP-47 info event. */
function walletServicesBack(): Promise<void> {
  const accounts = net.devnet.state.accounts
  const services = [accounts.customer!.nwc_uri, accounts.provider!.nwc_uri].map(
    (uri) => /^nostr\+walletconnect:\/\/([0-9a-f]{64})/.exec(uri)![1]!
  )
  const since = Math.floor(Date.now() / 1000)
  const seen = new Set<string>()
  return new Promise((resolve) => {
    const sub = provider.pool.subscribe(
      { kinds: [13194], authors: services },
      (event) => {
        if (event.created_at < since) return
        seen.add(event.pubkey)
        if (seen.size === services.length) {
          sub.close()
          resolve()
        }
      },
      { since: () => since }
    )
  })
}
