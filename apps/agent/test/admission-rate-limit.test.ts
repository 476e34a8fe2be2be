// A session_start flood does not lock honest customers out (SPEC §6, admission): starts are limited
// per connection and per remote key, and only the starts the provider admits (each costs an
// invoice) count against its global rate. Against the real 2020117-agent bin: flooders loop
// refused session_starts on their channels, come back under the same key when the agent hangs up
// on them, and an honest customer (the real 2020117-session bin) starts a session meanwhile. The
// devnet wallet's ledger judges that it paid.
//
// Old failure: every refused start counted against one global limit of 40 per 10 s, so the flood
// kept it full and the honest session got RATE_LIMITED.

import { afterAll, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import type { KeyPair } from 'hyperdht'
import { STARTS_PER_CONNECTION, STARTS_PER_KEY } from '../src/admission.js'
import { Dialer, type RawCustomer } from './helpers/hostile-customer.js'
import { newKeyPair, openAs } from './helpers/paying-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
let stopped = false
const open: RawCustomer[] = []

afterAll(async () => {
  stopped = true
  for (const c of open) c.destroy()
})

interface Flood {
  /** The agent's answer to every session_start, in order (reject codes, or ACK). */
  answers: string[]
  /** Connections the agent closed on the flooder. */
  hangups: number
  /** Resolves once the flooder has been answered RATE_LIMITED. */
  limited: Promise<void>
}

/** Sends refused session_starts (a kind the agent does not serve) as fast as they are answered, under one key, redialling when hung up on. */
function flood(swarmKey: string, keyPair: KeyPair): Flood {
  let onlimited!: () => void
  const f: Flood = { answers: [], hangups: 0, limited: new Promise((resolve) => (onlimited = resolve)) }
  void (async () => {
    while (!stopped && f.hangups < 50) {
      let c: RawCustomer
      try {
        c = await openAs(dialer, swarmKey, keyPair)
      } catch {
        f.hangups++
        continue
      }
      open.push(c)
      while (!stopped && !c.isClosed) {
        const answer = await c.start({ kind: 1 }).catch(() => null)
        if (!answer) break
        f.answers.push(answer.type === 'session_reject' ? answer.code : 'ACK')
        if (answer.type === 'session_reject' && answer.code === 'RATE_LIMITED') onlimited()
      }
      c.destroy()
      f.hangups++
    }
  })()
  return f
}

test('refused session_starts looped by flooders are limited per connection and per key, and an honest customer still gets a session and pays', async () => {
  const agent = spawnBin('agent', [
    net.flag,
    '--processor=http://127.0.0.1:9',
    '--sats-per-minute=5',
    '--tick-seconds=60',
    '--json'
  ])
  const { swarm_key: swarmKey } = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')

  const flooding = Date.now()
  const floods = [flood(swarmKey, newKeyPair()), flood(swarmKey, newKeyPair()), flood(swarmKey, newKeyPair())]
  await Promise.all(floods.map((f) => f.limited))

  // The flood goes on while an honest customer rents.
  const customerBefore = net.balanceMsat('customer')
  const providerBefore = net.balanceMsat('provider')
  const answeredBefore = floods.map((f) => f.answers.length)
  const honest = spawnBin('session', [
    net.flag,
    '--budget=1000',
    '--port=0',
    '--yes',
    '--no-repl',
    `--swarm-key=${swarmKey}`
  ])
  await honest.line(/tunnel open: http:\/\/127\.0\.0\.1:\d+/)
  const tick = tickAmountMsat(5, 60)
  expect(customerBefore - net.balanceMsat('customer')).toBe(tick)
  expect(net.balanceMsat('provider') - providerBefore).toBe(tick)
  // The flooders were still at it: each was answered again, or hung up on, while the honest session started.
  for (const [i, f] of floods.entries())
    expect(f.answers.length + f.hangups).toBeGreaterThan(answeredBefore[i] as number)
  // Each flooder heard why: first the refusal of its start, then RATE_LIMITED within a few tries;
  // past that, its key gets at most STARTS_PER_KEY starts through per 10 s window.
  const windows = Math.floor((Date.now() - flooding) / 10_000) + 1
  for (const f of floods) {
    expect(f.answers[0]).toBe('KIND_NOT_SERVED')
    expect(f.answers.indexOf('RATE_LIMITED')).toBeLessThanOrEqual(STARTS_PER_CONNECTION)
    expect(f.answers.filter((a) => a !== 'RATE_LIMITED').length).toBeLessThanOrEqual(STARTS_PER_KEY * windows)
  }
  expect(agent.child.exitCode).toBeNull()
}, 60_000)

test('a key that was rate limited stays limited on a new connection', async () => {
  const agent = spawnBin('agent', [
    net.flag,
    '--processor=http://127.0.0.1:9',
    '--sats-per-minute=5',
    '--tick-seconds=60',
    '--json'
  ])
  const { swarm_key: swarmKey } = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const keyPair = newKeyPair()
  // One connection at a time, each sending a few starts and then dropping: the per-key window counts them all.
  const codes: string[] = []
  for (let n = 0; n < 6 && !codes.includes('RATE_LIMITED'); n++) {
    const c = await openAs(dialer, swarmKey, keyPair)
    open.push(c)
    for (let i = 0; i < 2; i++) {
      const answer = await c.start({ kind: 1 })
      codes.push(answer.type === 'session_reject' ? answer.code : 'ACK')
    }
    c.destroy()
    await c.closed
  }
  expect(codes).toContain('RATE_LIMITED')
  // A fresh key is not punished for it.
  const other = await openAs(dialer, swarmKey, newKeyPair())
  open.push(other)
  const answer = await other.start({ kind: 1 })
  expect(answer.type === 'session_reject' && answer.code).toBe('KIND_NOT_SERVED')
}, 60_000)
