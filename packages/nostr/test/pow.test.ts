import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { OPEN_RELAY_POLICY, committedPowBits, relayPolicyInfo, type RelayPolicy } from '@2020117/protocol'
import { mineEvent, readRelayPolicy } from '@2020117/nostr'
import { startRelay } from '@2020117/relay'
import { frontRelay, nostrError, now, onCleanup, pool, runCleanups } from './helpers.js'

afterEach(runCleanups)

const logInto = (lines: string[]) => ({
  debug: (m: string) => lines.push(m),
  info: (m: string) => lines.push(m),
  warn: (m: string) => lines.push(m)
})

const JOBS = [{ kinds: [[5000, 5999] as const], bits: 10 }]
const policy = (over: Partial<RelayPolicy>): RelayPolicy => ({ ...OPEN_RELAY_POLICY, ...over })
const request = (content = 'a job') => ({ kind: 5050, created_at: now(), tags: [['i', content, 'text']], content: '' })

/** An HTTP server on loopback that answers every request with `handle`; records the requests. */
async function httpServer(handle: (res: import('node:http').ServerResponse) => void) {
  const requests: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    requests.push(req.headers)
    handle(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onCleanup(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

describe('readRelayPolicy', () => {
  test('reads the NIP-11 document with the nostr+json Accept header, caches it, and refreshes on demand', async () => {
    const doc = relayPolicyInfo(policy({ pow: JOBS, minPow: 2 }))
    const relay = await httpServer((res) => res.writeHead(200).end(JSON.stringify(doc)))
    const read = await readRelayPolicy(relay.url)
    expect(read).toMatchObject({ minPow: 2, pow: [{ kinds: [[5000, 5999]], bits: 10 }] })
    expect(relay.requests[0]?.accept).toBe('application/nostr+json')
    expect(await readRelayPolicy(relay.url)).toEqual(read)
    expect(relay.requests).toHaveLength(1)
    await readRelayPolicy(relay.url, { refresh: true })
    expect(relay.requests).toHaveLength(2)
  })

  test('a document over the size cap, not JSON, or not answered in time is an open policy, and says so', async () => {
    const big = await httpServer((res) =>
      res.writeHead(200).end(JSON.stringify({ pad: 'x'.repeat(70_000), ...relayPolicyInfo(policy({ minPow: 9 })) }))
    )
    const junk = await httpServer((res) => res.writeHead(200).end('<html>not a relay</html>'))
    const silent = await httpServer(() => {})
    const logged: string[] = []
    const log = (msg: string) => logged.push(msg)
    expect(await readRelayPolicy(big.url, { log })).toEqual(OPEN_RELAY_POLICY)
    expect(await readRelayPolicy(junk.url, { log })).toEqual(OPEN_RELAY_POLICY)
    expect(await readRelayPolicy(silent.url, { log, timeoutMs: 100 })).toEqual(OPEN_RELAY_POLICY)
    expect(logged).toEqual(
      [big, junk, silent].map((r) => `relay ${r.url} states no readable policy (NIP-11): taking it as open`)
    )
  })

  test('a hostile document is bounded field by field', async () => {
    const relay = await httpServer((res) =>
      res.writeHead(200).end(
        JSON.stringify({
          limitation: { min_pow_difficulty: 1e9 },
          pow_by_kind: [
            { kinds: 'all', bits: 8 },
            { kinds: [1], bits: 99 }
          ]
        })
      )
    )
    expect(await readRelayPolicy(relay.url)).toEqual(policy({}))
  })
})

describe('mineEvent', () => {
  test('mines in a worker: the main loop keeps ticking while it runs', async () => {
    const sk = generateSecretKey()
    let ticks = 0
    let ticked!: () => void
    const threeTicks = new Promise<string>((resolve) => (ticked = () => resolve('ticked')))
    const timer = setInterval(() => ++ticks === 3 && ticked(), 1)
    onCleanup(() => clearInterval(timer))
    const mining = mineEvent({ ...request(), pubkey: getPublicKey(sk) }, 16)
    expect(await Promise.race([mining.then(() => 'mined'), threeTicks])).toBe('ticked')
    const mined = await mining
    expect(committedPowBits(finalizeEvent(mined, sk))).toBeGreaterThanOrEqual(16)
  })

  test('gives up after its time bound with POW_TOO_SLOW, naming the relays, the bits, the kind and what to do', async () => {
    const err = await nostrError(
      () =>
        mineEvent({ ...request(), pubkey: getPublicKey(generateSecretKey()) }, 30, {
          timeoutMs: 50,
          relays: ['ws://127.0.0.1:9']
        }),
      'POW_TOO_SLOW'
    )
    expect(err.message).toContain('ws://127.0.0.1:9 want 30 bits of proof of work for kind 5050')
    expect(err.message).toContain('--pow-timeout')
  })
})

describe('RelayPool.publishWithPow', () => {
  test("mines to the relay's stated price once, and the relay takes it", async () => {
    const r = await frontRelay({ doc: relayPolicyInfo(policy({ pow: JOBS })), enforce: JOBS })
    const sk = generateSecretKey()
    const { event, accepted, refused } = await pool([r.url], { secretKey: sk }).publishWithPow(request())
    expect([accepted, refused]).toEqual([[r.url], []])
    expect(committedPowBits(event)).toBeGreaterThanOrEqual(10)
    expect(r.events.map((e) => e.id)).toEqual([event.id])
    expect(await pool([r.url]).query({ ids: [event.id] })).toHaveLength(1)
  })

  test('a free kind is signed as it is, without a nonce', async () => {
    const r = await frontRelay({ doc: relayPolicyInfo(policy({ pow: JOBS })), enforce: JOBS })
    const sk = generateSecretKey()
    const signed = finalizeEvent({ kind: 7000, created_at: now(), tags: [], content: 'status' }, sk)
    const { event } = await pool([r.url], { secretKey: sk }).publishWithPow(signed)
    expect(event).toEqual(signed)
  })

  test('a relay whose document says 0 but enforces 10: refused, mined to 10, published once more, accepted', async () => {
    const r = await frontRelay({ doc: {}, enforce: JOBS })
    const logged: string[] = []
    const p = pool([r.url], { secretKey: generateSecretKey(), log: logInto(logged) })
    const { event, accepted } = await p.publishWithPow(request())
    expect(accepted).toEqual([r.url])
    expect(r.events.map(committedPowBits)).toEqual([0, committedPowBits(event)])
    expect(committedPowBits(event)).toBeGreaterThanOrEqual(10)
    expect(r.events[1]?.id).toBe(event.id)
    expect(logged).toContain(`${r.url} wanted more proof of work: mining 10 bits and publishing once more`)
  })

  test("one stranger's price holds nothing hostage: a relay asking more than maxPowBits is left out, the others get the event", async () => {
    const honest = await frontRelay({ doc: relayPolicyInfo(policy({ pow: JOBS })), enforce: JOBS })
    const greedy = await frontRelay({ doc: relayPolicyInfo(policy({ pow: [{ kinds: [[5000, 5999]], bits: 32 }] })) })
    const logged: string[] = []
    const p = pool([honest.url, greedy.url], { secretKey: generateSecretKey(), log: logInto(logged) })
    const { event, accepted, refused } = await p.publishWithPow(request())
    expect(accepted).toEqual([honest.url])
    expect(refused).toEqual([
      { relay: greedy.url, reason: `pow: ${greedy.url} asks 32 bits for kind 5050, above this client's limit of 20` }
    ])
    // Mined to the honest relay's 10 bits, not the 32 asked (which would take hours), and never sent there.
    expect(committedPowBits(event)).toBeGreaterThanOrEqual(10)
    expect(greedy.events).toEqual([])
    expect(logged.some((l) => l.startsWith(`left out ${greedy.url}: it asks 32 bits`))).toBe(true)
  })

  test('with stableId, a relay that wants more work after another took the event gets no retry: the id stays', async () => {
    const taker = await frontRelay({ doc: {} })
    const refuser = await frontRelay({ doc: {}, enforce: JOBS })
    const p = pool([taker.url, refuser.url], { secretKey: generateSecretKey() })
    const { event, accepted, refused } = await p.publishWithPow(request(), { stableId: true })
    expect(accepted).toEqual([taker.url])
    expect(refused.map((r) => r.relay)).toEqual([refuser.url])
    expect(refuser.events.map((e) => e.id)).toEqual([event.id])
    // Without it, the refuser alone gets a mined copy, and the event returned is still the one taken first.
    const again = await p.publishWithPow(request())
    expect(again.accepted.sort()).toEqual([taker.url, refuser.url].sort())
    expect(taker.events.at(-1)?.id).toBe(again.event.id)
    expect(committedPowBits(refuser.events.at(-1)!)).toBeGreaterThanOrEqual(10)
    expect(refuser.events.at(-1)?.id).not.toBe(again.event.id)
  })

  test('a relay that still refuses after the one retry is a POW_REFUSED error, with no second retry', async () => {
    const r = await frontRelay({ doc: {}, enforce: [{ kinds: [[5000, 5999]], bits: 12 }], says: 10 })
    const err = await nostrError(
      () => pool([r.url], { secretKey: generateSecretKey() }).publishWithPow(request()),
      'POW_REFUSED'
    )
    expect(err.message).toContain(`${r.url} refused the kind 5050 event for its proof of work`)
    expect(r.events).toHaveLength(2)
  })

  test('mining slower than the pool allows is POW_TOO_SLOW, and nothing is published', async () => {
    const hard = [{ kinds: [[5000, 5999] as const], bits: 30 }]
    const r = await frontRelay({ doc: relayPolicyInfo(policy({ pow: hard })), enforce: hard })
    const p = pool([r.url], { secretKey: generateSecretKey(), powTimeoutMs: 50, maxPowBits: 32 })
    const err = await nostrError(() => p.publishWithPow(request()), 'POW_TOO_SLOW')
    expect(err.message).toContain(`${r.url} want 30 bits of proof of work for kind 5050`)
    expect(r.events).toEqual([])
  })

  test("a relay URL from a stranger's tag reaches the error text without its control characters", async () => {
    const url = 'ws://127.0.0.1:1/\u001b[2J\u0007x'
    const err = await nostrError(
      () => mineEvent({ ...request(), pubkey: '0'.repeat(64) }, 30, { timeoutMs: 20, relays: [url] }),
      'POW_TOO_SLOW'
    )
    expect(err.message).toContain('ws://127.0.0.1:1/ [2J x want 30 bits')
    expect(err.message).not.toMatch(/[\u0000-\u001f]/)
  })

  test("an event that needs work and is not the pool's key's is POW_NEEDS_KEY", async () => {
    const r = await frontRelay({ doc: relayPolicyInfo(policy({ pow: JOBS })), enforce: JOBS })
    const theirs = finalizeEvent(request(), generateSecretKey())
    await nostrError(() => pool([r.url], { secretKey: generateSecretKey() }).publishWithPow(theirs), 'POW_NEEDS_KEY')
    await nostrError(() => pool([r.url]).publishWithPow(theirs), 'POW_NEEDS_KEY')
  })
})

describe('RelayPool NIP-42', () => {
  const note = (sk: Uint8Array) => finalizeEvent({ kind: 1, created_at: now(), tags: [], content: 'hi' }, sk)

  test('a pool with a key answers the challenge and its writes are taken; one without is refused', async () => {
    const r = await frontRelay({ auth: 'writes' })
    const sk = generateSecretKey()
    expect(await pool([r.url]).publish(note(sk))).toBe(0)
    expect(await pool([r.url], { secretKey: sk }).publish(note(sk))).toBe(1)
    expect(r.authed).toContain(getPublicKey(sk))
    const { accepted } = await pool([r.url], { secretKey: sk }).publishWithPow({
      kind: 1,
      created_at: now(),
      tags: [],
      content: 'x'
    })
    expect(accepted).toEqual([r.url])
  })

  test('a subscription closed auth-required is authenticated and opened again (persistent and not)', async () => {
    const r = await frontRelay({ auth: 'all' })
    const sk = generateSecretKey()
    const event = note(sk)
    expect(await pool([r.url], { secretKey: sk }).publish(event)).toBe(1)
    expect((await pool([r.url], { secretKey: sk }).query({ ids: [event.id] })).map((e) => e.id)).toEqual([event.id])
    for (const persistent of [true, false]) {
      const p = pool([r.url], { secretKey: generateSecretKey(), persistent })
      const got = new Promise<string>((resolve) => p.subscribe({ ids: [event.id] }, (e) => resolve(e.id)))
      expect(await got).toBe(event.id)
    }
  })

  test('a relay that refuses our AUTH does not end the process: the write is refused and it is logged', async () => {
    const r = await frontRelay({ auth: 'writes', refuseAuth: true })
    const sk = generateSecretKey()
    const logged: string[] = []
    const p = pool([r.url], { secretKey: sk, log: logInto(logged) })
    expect(await p.publish(note(sk))).toBe(0)
    expect(logged).toContain(`relay ${r.url}/ refused our NIP-42 authentication: restricted: not this time`)
  })
})

describe('against @2020117/relay with its default policy and auth on writes', () => {
  test('a job request is mined to 10 bits and taken, feedback goes free, an unauthenticated write is refused', async () => {
    const r = await startRelay({ port: 0, policy: { auth: 'writes' } })
    onCleanup(() => r.close())
    expect(await readRelayPolicy(r.url)).toMatchObject({ authRequired: false, authWrites: true })
    const sk = generateSecretKey()
    const p = pool([r.url], { secretKey: sk })
    const { event, accepted } = await p.publishWithPow(request())
    expect(accepted).toEqual([r.url])
    expect(committedPowBits(event)).toBeGreaterThanOrEqual(10)
    const feedback = await p.publishWithPow({ kind: 7000, created_at: now(), tags: [['e', event.id]], content: '' })
    expect(feedback.accepted).toEqual([r.url])
    expect(feedback.event.tags.some((t) => t[0] === 'nonce')).toBe(false)
    expect(await pool([r.url]).publish(finalizeEvent(request('anon'), generateSecretKey()))).toBe(0)
    expect((await pool([r.url]).query({ ids: [event.id, feedback.event.id] })).length).toBe(2)
  })

  test('a pool that does not mine is refused pow: by the relay', async () => {
    const r = await startRelay({ port: 0 })
    onCleanup(() => r.close())
    expect(await pool([r.url]).publish(finalizeEvent(request(), generateSecretKey()))).toBe(0)
  })
})
