import { describe, expect, it } from 'vitest'
import { generateSecretKey, getEventHash, getPublicKey, type Event } from 'nostr-tools/pure'
import { getPow } from 'nostr-tools/nip13'
import { RELAY_POW_DEFAULTS } from '@2020117/protocol'
import { DEFAULT_POLICY, isRelayError, startRelay, type RelayPolicyOptions } from '../src/index.js'
import { connect, mined, now, query, relay, sign } from './helpers.js'

// The default prices (20 bits for social kinds) take seconds to mine; these tests price kind 1 at
// 8 bits and keep the default 10 bits for job requests, which is ~13 ms here.
const CHEAP: Partial<RelayPolicyOptions> = {
  pow: [
    { kinds: [1], bits: 8 },
    { kinds: [[5000, 5999]], bits: 10 }
  ]
}

/** An event whose id has `bits` leading zero bits by search, with the nonce tag `nonceTag(n)`. */
function lucky(sk: Uint8Array, kind: number, bits: number, nonceTag: (n: number) => string[]): Event {
  const pubkey = getPublicKey(sk)
  const created_at = now()
  for (let n = 0; ; n++) {
    const template = { kind, created_at, content: '', tags: [nonceTag(n)], pubkey }
    if (getPow(getEventHash(template)) >= bits) return sign(sk, template)
  }
}

describe('the relay policy', () => {
  it('refuses a kind outside the accepted kinds with blocked:, before storing it', async () => {
    const running = await relay({ policy: CHEAP })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const unlisted = sign(sk, { kind: 2, content: 'not a kind of this network' })
    await expect(client.publish(unlisted)).rejects.toThrow(/^blocked: kind 2 is not accepted/)
    const feedback = sign(sk, { kind: 7000, content: 'listed and free' })
    await client.publish(feedback)
    expect(await query(client, [{ authors: [getPublicKey(sk)] }])).toEqual([feedback])
  })

  it("refuses a job request mined below its kind's price with pow:, and accepts one at the price", async () => {
    const running = await relay({ policy: CHEAP })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const nine = mined(sk, { kind: 5100, content: 'nine bits' }, 9)
    await expect(client.publish(nine)).rejects.toThrow(/^pow: kind 5100 needs 10 bits .*commits 9.*"nonce"/)
    expect(await query(client, [{ ids: [nine.id] }])).toEqual([])

    const ten = mined(sk, { kind: 5100, content: 'ten bits' }, 10)
    await client.publish(ten)
    expect(await query(client, [{ ids: [ten.id] }])).toEqual([ten])
  })

  it('counts only the committed target: a lucky id without one, or with a lower one, is refused', async () => {
    const running = await relay({ policy: CHEAP })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const uncommitted = lucky(sk, 5100, 10, (n) => ['nonce', String(n)])
    expect(getPow(uncommitted.id)).toBeGreaterThanOrEqual(10)
    await expect(client.publish(uncommitted)).rejects.toThrow(/^pow: .*commits 0/)

    const underCommitted = lucky(sk, 5100, 10, (n) => ['nonce', String(n), '4'])
    await expect(client.publish(underCommitted)).rejects.toThrow(/^pow: .*commits 4/)
  })

  it('an author who published a free 7000 still needs proof of work for a 5xxx', async () => {
    const running = await relay({ policy: CHEAP })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    await client.publish(sign(sk, { kind: 7000, content: 'free feedback' }))
    await expect(client.publish(sign(sk, { kind: 5100, content: 'free ride?' }))).rejects.toThrow(/^pow: /)
  })

  it('excuses only the pubkeys in powExempt', async () => {
    const operator = generateSecretKey()
    const running = await relay({ policy: { ...CHEAP, powExempt: [getPublicKey(operator)] } })
    const client = await connect(running.url)
    await client.publish(sign(operator, { kind: 5100, content: 'exempt' }))
    await expect(client.publish(sign(generateSecretKey(), { kind: 5100 }))).rejects.toThrow(/^pow: /)
  })

  it('applies minPow to every kind, free ones included', async () => {
    const running = await relay({ policy: { ...CHEAP, minPow: 6 } })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    await expect(client.publish(sign(sk, { kind: 7000 }))).rejects.toThrow(/^pow: kind 7000 needs 6 bits/)
    await client.publish(mined(sk, { kind: 7000 }, 6))
  })

  it('lets only the writers write, with blocked: for anyone else', async () => {
    const writer = generateSecretKey()
    const running = await relay({ policy: { ...CHEAP, writers: [getPublicKey(writer)] } })
    const client = await connect(running.url)
    const stranger = sign(generateSecretKey(), { kind: 7000 })
    await expect(client.publish(stranger)).rejects.toThrow(/^blocked: pubkey .* may not write/)
    await client.publish(sign(writer, { kind: 7000 }))
  })

  it("defaults to AIP-0005's prices: a kind 1 without 20 bits is refused", async () => {
    const running = await relay()
    expect(running.info.pow_by_kind).toEqual(JSON.parse(JSON.stringify(RELAY_POW_DEFAULTS)))
    const client = await connect(running.url)
    await expect(client.publish(sign(generateSecretKey(), { kind: 1 }))).rejects.toThrow(/^pow: kind 1 needs 20 bits/)
    expect(DEFAULT_POLICY.auth).toBe('off')
  })

  it('refuses a malformed policy with INVALID_OPTION', async () => {
    const bad: Array<Partial<RelayPolicyOptions>> = [
      { pow: [{ kinds: [1], bits: 33 }] },
      { minPow: -1 },
      { powExempt: ['not hex'] },
      { writers: ['AB'.repeat(32)] },
      { acceptedKinds: [[10, 5]] },
      { auth: 'sometimes' as 'off' },
      { retentionSeconds: 0 }
    ]
    for (const policy of bad) {
      const err = await startRelay({ policy }).catch((e: unknown) => e)
      expect(isRelayError(err) && err.code).toBe('INVALID_OPTION')
    }
  })
})
