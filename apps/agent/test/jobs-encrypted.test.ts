// Encrypted jobs end to end (SPEC §10.1): a request encrypted to the agent in NIP-44 (as NDK
// sends) or NIP-04 (as the NIP says) is decrypted, and every answer is encrypted back in the same
// scheme: no plaintext of the input or the output is on the relay. Judged by the ledger too.

import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'
import { schemeOf } from '@2020117/jobs'
import { JobCustomer } from './helpers/job-customer.js'

const TRANSLATE = fileURLToPath(new URL('../examples/translate.sh', import.meta.url))
const GROW = fileURLToPath(new URL('./jobs/fixtures/grow.sh', import.meta.url))

let net: TestNetwork
let agent: Proc
let agentKey: string
let customer: JobCustomer

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  agent = spawnBin('agent', [net.flag, '--json', '--kind=5302', `--processor=exec:${TRANSLATE}`, '--job-price=4'])
  agentKey = (await agent.json((v) => v.event === 'ready')).pubkey
  customer = new JobCustomer(net)
})
afterAll(() => customer?.close())

for (const scheme of ['nip44', 'nip04'] as const) {
  test(`a ${scheme} request gets ${scheme} answers, and its plaintext never reaches the relay`, async () => {
    const before = net.balanceMsat('customer')
    const posted = await customer.post({
      kind: 5302,
      inputs: [{ data: 'thanks friend', type: 'text' }],
      params: { lang: 'es' },
      provider: agentKey,
      encrypt: scheme
    })
    const offer = await customer.status(posted, 'payment-required')
    expect(offer.amountMsat).toBe(4000)
    await customer.pay(offer)
    const result = await customer.result(posted)
    expect(result.content.trim()).toBe('gracias amigo')
    await customer.status(posted, 'success')
    expect(schemeOf(result.event.content)).toBe(scheme)
    const onRelay = await customer.pool.query({ '#e': [posted.event.id] })
    expect(onRelay.length).toBeGreaterThanOrEqual(4)
    for (const event of onRelay) {
      const text = JSON.stringify(event)
      expect(text).not.toMatch(/thanks|friend|gracias|amigo|lang/)
    }
    expect(result.event.tags.some((t) => t[0] === 'i')).toBe(false)
    expect(net.balanceMsat('customer')).toBe(before - 4000)
  })
}

test('an encrypted output that outgrows the event after payment: the error says it was paid and is not refunded', async () => {
  const grower = spawnBin('agent', [net.flag, '--json', '--kind=5303', `--processor=exec:${GROW}`, '--job-price=3'])
  const growerKey = (await grower.json((v) => v.event === 'ready')).pubkey
  const before = net.balanceMsat('customer')
  const posted = await customer.post({
    kind: 5303,
    inputs: [{ data: 'secret words', type: 'text' }],
    provider: growerKey,
    encrypt: 'nip44'
  })
  await customer.pay(await customer.status(posted, 'payment-required'))
  const error = await customer.status(posted, 'error')
  expect(error.text).toMatch(/^OUTPUT_TOO_LARGE: /)
  expect(error.text).toMatch(/paid 3000 msat.*not refunded/)
  expect(posted.results).toEqual([])
  // What SPEC §10.3 says happens: the sats are the provider's; the customer was told so.
  expect(net.balanceMsat('customer')).toBe(before - 3000)
  const onRelay = await customer.pool.query({ '#e': [posted.event.id] })
  for (const event of onRelay) expect(JSON.stringify(event)).not.toMatch(/secret|words/)
})
