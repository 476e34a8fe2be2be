// Hostile review of issue 13: 2020117-job rated at most 32 providers a run, one read each, and
// ignored offers from any more. A stranger that answered a request at once from 32 fresh keys
// filled them all: the honest provider's offer, coming a moment later, was never weighed, whatever
// its score, and one of the stranger's keys was paid. Now the offering providers are rated
// together in one read, and up to 256 of them are weighed. Judged inside a real JobRun on the local network (relay,
// wallet, the devnet provider account's invoices); the reputations are injected.

import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { createLogger } from '@2020117/cli'
import { buildRequest } from '@2020117/jobs'
import { npubOf, RelayPool } from '@2020117/nostr'
import { startTestNetwork } from '@2020117/testkit'
import { NwcWallet } from '@2020117/wallet'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { PaidHashes, PostedRequests } from '../src/paid.js'
import { JobRun } from '../src/run.js'
import { startProvider } from './helpers/provider.js'
import { fakeRater, reputationOf } from './helpers/reputation.js'
import { tempDir } from './helpers/temp.js'

const net = await startTestNetwork({ teardown: afterAll })
const honest = await startProvider(net, 5050, { teardown: afterAll })
const wallet = await NwcWallet.connect(net.devnet.state.accounts.customer!.nwc_uri)
const secretKey = generateSecretKey()
// Of the run's key: it mines the request (10 bits) and signs it again.
const pool = new RelayPool([net.devnet.relay.url], { persistent: true, secretKey })
afterAll(() => {
  pool.close()
  wallet.close()
})

test('32 sybil offers that come first do not keep the honest provider’s offer from being weighed', async () => {
  const rater = fakeRater({ [honest.pubkey]: reputationOf(honest.pubkey, { score: 300 }) })
  const request = buildRequest(
    { kind: 5050, inputs: [{ data: 'sybils first', type: 'text' }], bidMsat: 9000, relays: [net.devnet.relay.url] },
    secretKey
  )
  const lines: string[] = []
  const waiting: Array<{ match: RegExp; resolve: (line: string) => void }> = []
  const write = (line: string) => {
    lines.push(line)
    for (const w of waiting.filter((w) => w.match.test(line))) w.resolve(line)
  }
  const line = (match: RegExp) => new Promise<string>((resolve) => waiting.push({ match, resolve }))
  const paying = line(/paying \d+ msat to npub1/)
  const run = new JobRun({
    request,
    ref: { id: request.id, kind: 5050, customer: getPublicKey(secretKey), encryption: null },
    secretKey,
    pool,
    wallet,
    terms: {
      maxAmountMsat: 9000,
      maxFeeMsat: 1000,
      network: 'regtest',
      paid: await PaidHashes.open(join(await tempDir('job-sybil-'), 'keys'), 'me')
    },
    posted: await PostedRequests.open(join(await tempDir('job-sybil-'), 'keys'), 'me'),
    provider: null,
    offerWaitMs: 5000,
    rater,
    ratingWaitMs: 5000,
    choice: { minScore: null, allowFlagged: false, minZapSats: null },
    deadline: Date.now() + 30_000,
    fetchBlob: () => Promise.reject(new Error('no blobs here')),
    log: createLogger({ level: 'debug', write })
  })
  await run.start()
  const job = await honest.nextRequest()
  const cheap = await honest.invoice(4000)
  for (let i = 0; i < 32; i++) await honest.offer(job, 4000, { invoice: cheap, key: generateSecretKey() })
  await honest.offer(job, 6000)
  const paid = await paying
  // One read for the window's first provider, one for all the others (33 in all), not one each.
  expect(rater.asked.length).toBe(2)
  expect(rater.asked.flat().length).toBe(33)
  // The cause: the honest offer was dropped at the door, unweighed.
  expect(lines.join('\n')).not.toMatch(/providers offered already/)
  run.interrupt()
  await run.ended()
  expect(paid).toContain(npubOf(honest.pubkey))
}, 60_000)
