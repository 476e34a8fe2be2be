// What a job request may ask of the agent's reputation, and what the agent does with its own
// (SPEC §11.3, §11.6): the real 2020117-agent on the local network, a zap server the test runs (an
// LNURL endpoint on 127.0.0.1 advertising a key the test holds, and receipts signed with it), and
// reports signed with the agent's own key, which the test wrote into its keys file.
// "No answer" is judged after a later request was answered and after the agent's debug line said
// why it left the first alone, never after a sleep.

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { afterAll, beforeAll, beforeEach, expect, onTestFailed, test } from 'vitest'
import { jobInvoiceDescription } from '@2020117/protocol'
import { npubOf, RelayPool, writeKeyEntry } from '@2020117/nostr'
import { decodeInvoice } from '@2020117/wallet'
import { spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'
import { JobCustomer, type Posted } from './helpers/job-customer.js'
import { ZapServer } from './helpers/zap-server.js'

const TRANSLATE = fileURLToPath(new URL('../examples/translate.sh', import.meta.url))
const KEYS_AGENT = 'reputation-agent'
/** What the honest receipts add up to: 10 + 11 sats. */
const ZAPPED_SATS = 21

let net: TestNetwork
let zaps: ZapServer
let pool: RelayPool
let agent: Proc
let customer: JobCustomer
/** The customer the agent reported. */
let reported: JobCustomer
let report: Event
const agentKey = generateSecretKey()
const agentPubkey = getPublicKey(agentKey)
const keysFile = join(mkdtempSync(join(tmpdir(), '2020117-reputation-')), 'keys')

function startAgent(extra: string[]): Proc {
  return spawnBin(
    'agent',
    [
      net.flag,
      '--json',
      '--log-level=debug',
      '--kind=5302',
      `--processor=exec:${TRANSLATE}`,
      '--job-price=2',
      // Offers the tests never pay hold their slots until they expire.
      '--max-jobs=100',
      '--no-sessions',
      `--keys-file=${keysFile}`,
      ...extra
    ],
    { env: { KEYS_AGENT } }
  )
}

async function publish(event: Event): Promise<void> {
  if ((await pool.publish(event)) === 0) throw new Error(`the relay refused a kind ${event.kind}`)
}

function reportOf(target: string): Event {
  const tags = [['p', target, 'spam']]
  return finalizeEvent({ kind: 1984, created_at: Math.floor(Date.now() / 1000), tags, content: 'never pays' }, agentKey)
}

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  zaps = await ZapServer.start()
  pool = new RelayPool(net.devnet.state.relays)
  await writeKeyEntry(keysFile, KEYS_AGENT, { privkey: Buffer.from(agentKey).toString('hex'), pubkey: agentPubkey })
  const honest = zaps.receipt({ recipient: agentPubkey, sats: 10 })
  const tag = (name: string) => honest.tags.find((t) => t[0] === name)?.[1] as string
  for (const receipt of [
    honest,
    zaps.receipt({ recipient: agentPubkey, sats: 11 }),
    // The same payment reported twice: one payment hash, counted once.
    zaps.receipt({
      recipient: agentPubkey,
      sats: 10,
      bolt11: tag('bolt11'),
      description: tag('description'),
      createdAt: honest.created_at + 1
    }),
    // Signed by a key that is not the zap server's.
    zaps.receipt({ recipient: agentPubkey, sats: 1000, signerKey: generateSecretKey() }),
    // The agent zapping itself.
    zaps.receipt({ recipient: agentPubkey, sats: 1000, senderKey: agentKey }),
    // An invoice on another network than the agent's wallet (regtest).
    zaps.receipt({ recipient: agentPubkey, sats: 1000, network: 'bitcoin' })
  ])
    await publish(receipt)
  customer = new JobCustomer(net)
  reported = new JobCustomer(net)
  report = reportOf(reported.pubkey)
  await publish(report)
  agent = startAgent(['--ignore-reported', `--zap-address=${zaps.address()}`])
  expect((await agent.json((v) => v.event === 'ready')).pubkey).toBe(agentPubkey)
})
afterAll(() => {
  customer?.close()
  reported?.close()
  pool?.close()
  zaps?.close()
})
beforeEach(() => onTestFailed(() => console.log(agent.stderr().slice(-8000), agent.stdout().slice(-4000))))

let sent = 0

function post(c: JobCustomer, params: Record<string, string> = {}): Promise<Posted> {
  return c.post({
    kind: 5302,
    inputs: [{ data: `yes ${++sent}`, type: 'text' }],
    params: { lang: 'es', ...params },
    provider: agentPubkey
  })
}

/** Resolves once the agent said it left `posted` alone, and why. */
function ignored(posted: Posted, why: RegExp): Promise<string> {
  return agent.line(new RegExp(`ignoring request ${posted.event.id.slice(0, 12)}: ${why.source}`), 'stderr')
}

test("the profile's lud16 is --zap-address: where zaps to the agent go", async () => {
  await agent.line(/profile \(kind 0\) published on 1 relay/, 'stderr')
  const [profile] = await pool.query({ kinds: [0], authors: [agentPubkey] })
  expect(JSON.parse(profile!.content).lud16).toBe(zaps.address())
})

test('a request asking for more validated zaps than the agent has gets no answer; one within its total, or without the param, is offered the price', async () => {
  const above = await post(customer, { min_zap_sats: String(ZAPPED_SATS + 1) })
  expect(await ignored(above, /it asks for 22 sats of zaps \(min_zap_sats\), we have 21$/)).toBeTruthy()
  const within = await post(customer, { min_zap_sats: String(ZAPPED_SATS) })
  const without = await post(customer)
  expect((await customer.status(within, 'payment-required')).amountMsat).toBe(2000)
  expect((await customer.status(without, 'payment-required')).amountMsat).toBe(2000)
  expect(above.feedback).toEqual([])
  // The total came from our zap server's word: its LNURL endpoint was read.
  expect(zaps.reads).toBeGreaterThanOrEqual(1)
})

test('a min_zap_sats that is not a whole number of sats makes the request malformed: INPUT_INVALID', async () => {
  for (const bad of ['-1', '1.5', '1e3', 'lots']) {
    const posted = await post(customer, { min_zap_sats: bad })
    expect((await customer.status(posted, 'error')).text).toMatch(/^INPUT_INVALID: min_zap_sats/)
  }
})

test('with --ignore-reported, a customer the agent reported gets no answer while others are served', async () => {
  const theirs = await post(reported)
  await ignored(theirs, /its author is a customer we reported/)
  await customer.status(await post(customer), 'payment-required')
  expect(theirs.feedback).toEqual([])
})

test("a paid job's invoice names the request, the agent's npub and the customer's, and the agent publishes no review of its customer", async () => {
  const posted = await post(customer)
  const offer = await customer.status(posted, 'payment-required')
  expect(decodeInvoice(offer.bolt11!).description).toBe(
    jobInvoiceDescription(posted.event.id, npubOf(agentPubkey), npubOf(posted.event.pubkey))
  )
  await customer.pay(offer)
  await customer.status(posted, 'success')
  // One more job answered after it: whatever the agent published after the first was sent by then.
  await customer.status(await post(customer), 'payment-required')
  expect(await pool.query({ kinds: [31117], authors: [agentPubkey] })).toEqual([])
  expect(await pool.query({ kinds: [31117], '#p': [customer.pubkey] })).toEqual([])
})

test('deleting the report (NIP-09) serves that customer again, from its next request', async () => {
  const deletion = finalizeEvent(
    {
      kind: 5,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['e', report.id],
        ['k', '1984']
      ],
      content: ''
    },
    agentKey
  )
  const applied = agent.line(new RegExp(`report ${report.id.slice(0, 12)} deleted: answering again`), 'stderr')
  await net.publishAs(agentKey, deletion)
  await applied
  await reported.status(await post(reported), 'payment-required')
})

test('without --ignore-reported a reported customer is served; without a zap address the zap total is 0', async () => {
  await publish(reportOf(reported.pubkey))
  agent.kill('SIGTERM')
  await agent.exited
  agent = startAgent([])
  await agent.json((v) => v.event === 'ready')
  await reported.status(await post(reported), 'payment-required')
  const asks = await post(customer, { min_zap_sats: '1' })
  await ignored(asks, /it asks for 1 sats of zaps \(min_zap_sats\), we have 0$/)
  await customer.status(await post(customer, { min_zap_sats: '0' }), 'payment-required')
  expect(asks.feedback).toEqual([])
})
