// Interop with code nobody here wrote (issue 12 §3): an NDK (@nostr-dev-kit/ndk 3.0.3) customer
// posts plain, p-directed and encrypted (NIP-44, NDK's encryption()) jobs to the real agent, pays
// the payment-required invoice from the devnet wallet, and receives the result; an NDK kind 5
// cancellation (event.delete()) stops the agent. The NDK customer runs in its own node process
// (helpers/ndk-customer.mjs) with the loopback options of shared NOTES.

import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'

const TRANSLATE = fileURLToPath(new URL('../examples/translate.sh', import.meta.url))
const NDK_CUSTOMER = fileURLToPath(new URL('./helpers/ndk-customer.mjs', import.meta.url))

let net: TestNetwork
let agent: Proc
let agentKey: string
const children = new Set<ChildProcess>()

beforeAll(async () => {
  net = await startTestNetwork({ teardown: afterAll })
  agent = spawnBin('agent', [
    net.flag,
    '--json',
    '--kind=5302',
    `--processor=exec:${TRANSLATE}`,
    '--job-price=3',
    '--no-sessions'
  ])
  agentKey = (await agent.json((v) => v.event === 'ready')).pubkey
})
afterEach(() => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
})

interface NdkCustomer {
  next<T = Record<string, any>>(key: string): Promise<T>
  write(line: string): void
}

/** Starts the NDK customer; `next(key)` resolves with the value of its next JSON line that has `key`. */
function ndkCustomer(mode: string, text: string, lang: string): NdkCustomer {
  const child = spawn(process.execPath, [NDK_CUSTOMER, net.devnet.state.relays[0]!, agentKey, mode, text, lang], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['pipe', 'pipe', 'pipe']
  })
  children.add(child)
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const seen: Array<Record<string, any>> = []
  const waiters: Array<() => void> = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    seen.push(JSON.parse(line))
    for (const w of waiters.splice(0)) w()
  })
  return {
    next: (key) =>
      new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`the NDK customer exited (${code}) before "${key}": ${stderr}`)))
        const check = () => {
          const hit = seen.find((v) => key in v)
          if (hit) resolve(hit[key])
          else waiters.push(check)
        }
        check()
      }),
    write: (line) => child.stdin!.write(line + '\n')
  }
}

async function buy(
  mode: string,
  text: string,
  lang: string
): Promise<{ content: string; encrypted: boolean; customer: NdkCustomer }> {
  const before = net.balanceMsat('customer')
  const customer = ndkCustomer(mode, text, lang)
  const offer = await customer.next<{ msat: string; bolt11: string; pubkey: string }>('offer')
  expect(offer.pubkey).toBe(agentKey)
  expect(offer.msat).toBe('3000')
  await net.devnet.wallet.payInvoice('customer', offer.bolt11)
  customer.write('paid')
  const result = await customer.next<{ content: string; encrypted: boolean; pubkey: string }>('result')
  expect(result.pubkey).toBe(agentKey)
  expect(net.balanceMsat('customer')).toBe(before - 3000)
  return { ...result, customer }
}

test('an NDK customer buys a broadcast job: offer, payment, result; the ledger moves by the price', async () => {
  expect((await buy('plain', 'hello world', 'fr')).content.trim()).toBe('bonjour monde')
})

test('an NDK customer buys a p-directed job (request.dvm = our agent)', async () => {
  expect((await buy('directed', 'good morning', 'es')).content.trim()).toBe('buen mañana')
})

test('an NDK customer buys an encrypted job (encryption() = NIP-44): the result comes encrypted to it', async () => {
  const result = await buy('encrypted', 'thanks cat', 'de')
  expect(result.encrypted).toBe(true)
  expect(result.content.trim()).toBe('danke Katze')
})

test("NDK's NDKDVMJobFeedback.from() reads our encrypted feedback: the status, and the status tag it decrypted", async () => {
  const { customer } = await buy('encrypted', 'yes dog', 'fr')
  const feedback = await customer.next<{ status: string; hidden: string[][] }>('feedback')
  expect(feedback.status).toBe('payment-required')
  expect(feedback.hidden).toEqual([['status', 'payment-required']])
})

test('an NDK kind 5 cancellation (event.delete()) stops the agent before payment: nothing charged', async () => {
  const before = net.balanceMsat('customer')
  const customer = ndkCustomer('cancel', 'no', 'fr')
  const id = await customer.next<string>('id')
  const stopped = agent.json((v) => v.event === 'job_failed' && v.request_id === id)
  await customer.next('deleted')
  expect((await stopped).reason).toBe('CANCELLED')
  expect(net.balanceMsat('customer')).toBe(before)
})
