// Issue 14's acceptance on the whole local network: the devnet's relay is 2020117-relay with NIP-42
// on and proof of work priced per kind, and still a job from 2020117-job to the agent and a session
// both go through, paid as the ledger says. Every client authenticates (the bins, both sides' NWC
// wallets, the wallet service), every job request carries the work its kind costs, and the agent's
// profile is mined in the background while the session's ticks go on being paid.
//
// Social kinds cost 16 bits here instead of the network's 20: the same code path (a worker mining
// with nostr-tools' nip13, bounded in time) at a sixteenth of the hashes, so that the test is not
// at the mercy of a 20-bit mine's long tail on a loaded machine. Job requests cost the default 10.

import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay'
import { finalizeEvent, generateSecretKey, type Event } from 'nostr-tools/pure'
import { decode } from 'nostr-tools/nip19'
import { WebSocket } from 'ws'
import { committedPowBits, tickAmountMsat } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

useWebSocketImplementation(WebSocket)

const SOCIAL = [0, 1, 3, 5, 30078]
const net = await startTestNetwork({
  teardown: afterAll,
  relayPolicy: {
    auth: 'writes',
    pow: [
      { kinds: SOCIAL, bits: 16 },
      { kinds: [[5000, 5999]], bits: 10 }
    ]
  }
})
const relayUrl = net.devnet.relay.url
const translate = fileURLToPath(new URL('../../apps/agent/examples/translate.sh', import.meta.url))

/** The first stored or live event matching the filter, from a plain (unauthenticated) reader. */
async function firstEvent(filter: Record<string, unknown>): Promise<Event> {
  const relay = await Relay.connect(relayUrl)
  try {
    return await new Promise<Event>((resolve) => {
      relay.subscribe([filter], { onevent: resolve })
    })
  } finally {
    relay.close()
  }
}

/** What the relay answers a raw publish from a key of its own, with or without authenticating. */
async function rawPublish(kind: number, authenticate: boolean): Promise<string> {
  const key = generateSecretKey()
  const relay = new Relay(relayUrl)
  // The relay sends its challenge on connect; the AUTH goes out before the EVENT, so it is read first.
  const challenged = new Promise<void>((resolve) => {
    if (!authenticate) return resolve()
    relay.onauth = async (template) => {
      setImmediate(resolve)
      return finalizeEvent(template, key)
    }
  })
  await relay.connect()
  try {
    await challenged
    const event = finalizeEvent({ kind, created_at: Math.floor(Date.now() / 1000), tags: [], content: 'x' }, key)
    return await relay.publish(event).then(
      () => 'accepted',
      (err: Error) => err.message
    )
  } finally {
    relay.close()
  }
}

describe('2020117-relay with --auth and per-kind proof of work, under the whole network', () => {
  test('the relay really asks: an unauthenticated write is refused, an unmined job request too', async () => {
    expect(await rawPublish(7000, false)).toMatch(/^auth-required:/)
    expect(await rawPublish(5302, true)).toMatch(/^pow:/)
    expect(await rawPublish(7000, true)).toBe('accepted')
  })

  test('a job from 2020117-job to the agent: mined, authenticated, paid once', async () => {
    const agent = spawnBin('agent', [
      net.flag,
      '--no-sessions',
      '--json',
      '--kind=5302',
      `--processor=exec:${translate}`,
      '--job-price=3'
    ])
    const ready = await agent.json<{ event: string; npub: string }>((e) => e.event === 'ready')
    const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
    const job = spawnBin('job', [
      net.flag,
      '--kind=5302',
      '--input=hello world',
      '--param=lang=fr',
      '--bid=10',
      `--provider=${ready.npub}`,
      '--json'
    ])
    const summary = await job.json()
    expect(await job.exited, job.stderr()).toBe(0)
    expect(summary).toMatchObject({ provider: ready.npub, status: 'delivered', msat_paid: 3000 })
    expect(summary.result.trim()).toBe('bonjour monde')
    const request = await firstEvent({ ids: [summary.request_id] })
    expect(committedPowBits(request)).toBeGreaterThanOrEqual(10)
    expect(before.customer - net.balanceMsat('customer')).toBe(3000)
    expect(net.balanceMsat('provider') - before.provider).toBe(3000)
    agent.kill('SIGINT')
    expect(await agent.exited).toBe(0)
  })

  test("a session: every tick paid while the agent's profile is mined and published", async () => {
    const customerBefore = net.balanceMsat('customer')
    const agent = spawnBin('agent', [net.flag, '--sats-per-minute=6', '--tick-seconds=1', '--json'])
    const ready = await agent.json<{ event: string; swarm_key: string; npub: string }>((e) => e.event === 'ready')
    const pubkey = decode(ready.npub).data as string
    const session = spawnBin('session', [
      net.flag,
      '--budget=500',
      '--port=0',
      '--yes',
      '--no-repl',
      '--json',
      `--swarm-key=${ready.swarm_key}`
    ])
    await agent.line(/tick paid .*seq=1\b/)
    // The profile (a social kind) is mined in a worker; the ticks must not wait for it.
    const profile = await firstEvent({ kinds: [0], authors: [pubkey] })
    expect(committedPowBits(profile)).toBeGreaterThanOrEqual(16)
    const handler = await firstEvent({ kinds: [31990], authors: [pubkey] })
    expect(handler.pubkey).toBe(pubkey)
    // Two more ticks after the profile is out: billing went on through the mining and after it.
    const seq = Number(/seq=(\d+)/.exec(await agent.line(/tick paid .*seq=\d+/, 'any', { fresh: true }))![1])
    await agent.line(new RegExp(`tick paid .*seq=${seq + 1}\\b`))
    session.kill('SIGINT')
    const summary = await session.json<{ reason: string; ticks_paid: number; msat_paid: number }>((s) => 'reason' in s)
    expect(await session.exited).toBe(0)
    expect(summary.reason).toBe('CUSTOMER_QUIT')
    expect(summary.ticks_paid).toBeGreaterThanOrEqual(seq + 2)
    expect(summary.msat_paid).toBe(summary.ticks_paid * tickAmountMsat(6, 1))
    expect(customerBefore - net.balanceMsat('customer')).toBe(summary.msat_paid)
    const ended = await agent.json<{ event: string; reason: string; ticks_paid: number }>(
      (e) => e.event === 'session_ended'
    )
    // No tick was missed: the provider ended nothing for want of payment, and counts what was paid.
    expect(ended).toMatchObject({ reason: 'CUSTOMER_QUIT', ticks_paid: summary.ticks_paid })
    agent.kill('SIGINT')
    expect(await agent.exited).toBe(0)
  })
})
