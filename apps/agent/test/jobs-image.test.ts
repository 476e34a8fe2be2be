// An image job on the local network (issue 12 acceptance): the agent with the demo WebUI as its
// processor (A1111 txt2img) answers a kind 5100 job with a link to the image on the local Blossom
// server and its sha256; the file fetched from there hashes to it. The same agent rents sessions of
// 5100 too: its NIP-89 handler lists the session price and the job price, and `2020117-session
// --list` shows both, beside a jobs-only agent, which has no swarm key to dial.

import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { fetchBlob } from '@2020117/blossom'
import { spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'
import { JobCustomer } from './helpers/job-customer.js'

const TRANSLATE = fileURLToPath(new URL('../examples/translate.sh', import.meta.url))

let net: TestNetwork
let agent: Proc
let agentKey: string
let customer: JobCustomer

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  agent = spawnBin('agent', [net.flag, '--json', '--kind=5100', '--sats-per-minute=5', '--job-price=7'])
  const ready = await agent.json((v) => v.event === 'ready')
  agentKey = ready.pubkey
  expect(ready).toMatchObject({ sessions: true, jobs: true, job_kinds: [5100], job_prices: { '5100': 7 } })
  customer = new JobCustomer(net)
})
afterAll(() => customer?.close())

test('a txt2img job is answered with a Blossom link and its sha256; the blob fetched hashes to it', async () => {
  const before = net.balanceMsat('customer')
  const posted = await customer.post({
    kind: 5100,
    inputs: [{ data: 'a lighthouse at dusk', type: 'text' }],
    params: { steps: '2', width: '64', height: '64' },
    provider: agentKey
  })
  await customer.pay(await customer.status(posted, 'payment-required'))
  const result = await customer.result(posted)
  expect(result.blob?.mime).toMatch(/^image\//)
  expect(result.content.startsWith(net.devnet.state.blossom!)).toBe(true)
  const bytes = await fetchBlob(result.content, {
    sha256: result.blob!.sha256,
    maxBytes: 16 * 1024 * 1024,
    timeoutMs: 10_000
  })
  expect(bytes.byteLength).toBeGreaterThan(0)
  expect(net.balanceMsat('customer')).toBe(before - 7000)
})

test('an encrypted image job is refused before any invoice: it costs the customer nothing', async () => {
  const before = net.balanceMsat('customer')
  const providerBefore = net.balanceMsat('provider')
  const posted = await customer.post({
    kind: 5100,
    inputs: [{ data: 'a secret lighthouse', type: 'text' }],
    params: { steps: '2', width: '64', height: '64' },
    provider: agentKey,
    encrypt: 'nip44'
  })
  const error = await customer.status(posted, 'error')
  expect(error.text).toMatch(/^OUTPUT_TOO_LARGE: /)
  const refused = await agent.json((v) => v.event === 'job_refused' && v.request_id === posted.event.id)
  expect(refused.reason).toBe('OUTPUT_TOO_LARGE')
  expect(posted.feedback.map((f) => f.status)).toEqual(['error'])
  const onRelay = await customer.pool.query({ '#e': [posted.event.id] })
  expect(onRelay.filter((e) => e.tags.some((t) => t[0] === 'amount'))).toEqual([])
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.balanceMsat('provider')).toBe(providerBefore)
})

test('--list shows the session price and the job price of one provider, and a jobs-only provider', async () => {
  const jobsOnly = spawnBin('agent', [
    net.flag,
    '--json',
    '--kind=5100',
    `--processor=exec:${TRANSLATE}`,
    '--job-price=9'
  ])
  const onlyKey = (await jobsOnly.json((v) => v.event === 'ready')).pubkey
  const list = spawnBin('session', [net.flag, '--list', '--kind=5100', '--json'])
  expect(await list.exited).toBe(0)
  const rows = JSON.parse(list.stdout().trim()).providers as Array<Record<string, unknown>>
  expect(rows.find((r) => r.pubkey === agentKey)).toMatchObject({
    sats_per_minute: 5,
    sats_per_job: 7,
    reachable: true
  })
  expect(rows.find((r) => r.pubkey === onlyKey)).toMatchObject({
    sats_per_minute: null,
    sats_per_job: 9,
    swarm_key: null
  })
})
