import { describe, expect, it } from 'vitest'
import { generateSecretKey, type Event } from 'nostr-tools/pure'
import { OPEN_POLICY, isRelayError, startRelay, type RelayLimits } from '../src/index.js'
import { BucketMap, TokenBucket } from '../src/rate.js'
import { connect, now, rawClient, relay, sign } from './helpers.js'

// A rate this slow refills nothing while a test runs, so the counts below do not depend on speed.
const NO_REFILL = 0.0001

function limited(limits: Partial<RelayLimits>) {
  return relay({ policy: OPEN_POLICY, limits })
}

describe('rate limits', () => {
  it('rate-limits a flooding pubkey while another still publishes on the same connection', async () => {
    const running = await limited({ eventsPerSecondPerPubkey: NO_REFILL, eventBurstPerPubkey: 3 })
    const client = await connect(running.url)
    const [flooder, other] = [generateSecretKey(), generateSecretKey()]
    for (let i = 0; i < 3; i++) await client.publish(sign(flooder, { kind: 1, content: `n${i}` }))
    await expect(client.publish(sign(flooder, { kind: 1, content: 'one too many' }))).rejects.toThrow(
      /^rate-limited: too many events from this pubkey/
    )
    await client.publish(sign(other, { kind: 1, content: 'still welcome' }))
  })

  it("rate-limits one connection's events and REQs, not another connection's", async () => {
    const running = await limited({
      eventsPerSecondPerConnection: NO_REFILL,
      eventBurstPerConnection: 2,
      reqsPerSecondPerConnection: NO_REFILL,
      reqBurstPerConnection: 2
    })
    const busy = await rawClient(running.url)
    const events: Event[] = [0, 1, 2].map((i) => sign(generateSecretKey(), { kind: 1, content: `n${i}` }))
    for (const event of events) busy.ws.send(JSON.stringify(['EVENT', event]))
    expect(await busy.next()).toEqual(['OK', events[0]!.id, true, ''])
    expect(await busy.next()).toEqual(['OK', events[1]!.id, true, ''])
    expect(await busy.next()).toEqual([
      'OK',
      events[2]!.id,
      false,
      expect.stringMatching(/^rate-limited: .*connection/)
    ])
    for (const id of ['a', 'b', 'c']) busy.ws.send(JSON.stringify(['REQ', id, { kinds: [1], limit: 0 }]))
    expect(await busy.next()).toEqual(['EOSE', 'a'])
    expect(await busy.next()).toEqual(['EOSE', 'b'])
    expect(await busy.next()).toEqual(['CLOSED', 'c', expect.stringMatching(/^rate-limited: too many REQs/)])

    const calm = await connect(running.url)
    await calm.publish(sign(generateSecretKey(), { kind: 1 }))
  })

  it("charges an authenticated connection's REQs to its pubkey", async () => {
    const running = await relay({
      policy: { ...OPEN_POLICY, auth: 'writes' },
      limits: { eventsPerSecondPerPubkey: NO_REFILL, eventBurstPerPubkey: 2 }
    })
    const raw = await rawClient(running.url)
    const [, challenge] = await raw.next()
    const sk = generateSecretKey()
    const proof = sign(sk, {
      kind: 22242,
      tags: [
        ['relay', running.url],
        ['challenge', challenge as string]
      ]
    })
    raw.ws.send(JSON.stringify(['AUTH', proof]))
    expect(await raw.next()).toEqual(['OK', proof.id, true, ''])
    for (const id of ['a', 'b', 'c']) raw.ws.send(JSON.stringify(['REQ', id, { kinds: [1], limit: 0 }]))
    expect(await raw.next()).toEqual(['EOSE', 'a'])
    expect(await raw.next()).toEqual(['EOSE', 'b'])
    expect(await raw.next()).toEqual(['CLOSED', 'c', expect.stringMatching(/^rate-limited: .*pubkey/)])
    const note = sign(sk, { kind: 1, created_at: now() })
    raw.ws.send(JSON.stringify(['EVENT', note]))
    expect(await raw.next()).toEqual(['OK', note.id, false, expect.stringMatching(/^rate-limited: /)])
  })

  it('refuses a rate or burst that is not positive with INVALID_OPTION', async () => {
    for (const limits of [
      { eventsPerSecondPerPubkey: 0 },
      { eventBurstPerConnection: 1.5 },
      { reqBurstPerConnection: -1 }
    ]) {
      const err = await startRelay({ limits }).catch((e: unknown) => e)
      expect(isRelayError(err) && err.code).toBe('INVALID_OPTION')
    }
  })
})

describe('token buckets', () => {
  it('refill at their rate up to the burst', () => {
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, 0)
    expect([1, 2, 3, 4].map(() => bucket.take(0))).toEqual([true, true, true, false])
    expect(bucket.take(499)).toBe(false)
    expect(bucket.take(500)).toBe(true)
    expect(bucket.isFull(10_000)).toBe(true)
    expect([1, 2, 3, 4].map(() => bucket.take(10_000))).toEqual([true, true, true, false])
  })

  it('keep at most maxKeys pubkeys, and forget full ones on a sweep', () => {
    const buckets = new BucketMap({ perSecond: 1, burst: 1 }, 3)
    for (let i = 0; i < 1000; i++) buckets.take(`key${i}`, 0)
    expect(buckets.size).toBe(3)
    // The most recently used keys are the ones kept: key999 is still drained.
    expect(buckets.take('key999', 0)).toBe(false)
    buckets.sweep(500)
    expect(buckets.size).toBe(3)
    buckets.sweep(1000)
    expect(buckets.size).toBe(0)
  })
})
