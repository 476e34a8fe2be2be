import { describe, expect, it } from 'vitest'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { relayInfoUrl, relayPolicyFromInfo } from '@2020117/protocol'
import { MAX_QUERY_LIMIT, type RelayOptions } from '../src/index.js'
import { connect, rawClient, relay, sign } from './helpers.js'

async function fetchInfo(url: string): Promise<Record<string, any>> {
  const res = await fetch(relayInfoUrl(url), { headers: { accept: 'application/nostr+json' } })
  expect(res.headers.get('content-type')).toBe('application/nostr+json')
  return (await res.json()) as Record<string, any>
}

describe('NIP-11', () => {
  it('serves RunningRelay.info, stating the limits it enforces and nothing else', async () => {
    const running = await relay({ limits: { maxFiltersPerSubscription: 3, maxSubscriptionsPerConnection: 4 } })
    const info = await fetchInfo(running.url)
    expect(info).toEqual(running.info)
    expect(info.supported_nips).toEqual([1, 9, 11, 13, 40])
    expect(info.limitation).toEqual({
      max_message_length: 128 * 1024,
      max_subscriptions: 4,
      max_filters: 3,
      max_limit: MAX_QUERY_LIMIT,
      max_subid_length: 64,
      min_pow_difficulty: 0,
      auth_required: false,
      restricted_writes: false,
      payment_required: false
    })
    expect(info.retention).toBeUndefined()

    // Each claim, where cheap to check, against what the relay does.
    const raw = await rawClient(running.url)
    raw.ws.send(JSON.stringify(['REQ', 'f', {}, {}, {}, {}]))
    expect(await raw.next()).toEqual(['CLOSED', 'f', expect.stringMatching(/^invalid: .*4 filters/)])
    raw.ws.send(JSON.stringify(['REQ', 'x'.repeat(65), {}]))
    expect((await raw.next())[0]).toBe('NOTICE')
    for (const id of ['a', 'b', 'c', 'd']) {
      raw.ws.send(JSON.stringify(['REQ', id, { limit: 0 }]))
      expect(await raw.next()).toEqual(['EOSE', id])
    }
    raw.ws.send(JSON.stringify(['REQ', 'e', { limit: 0 }]))
    expect(await raw.next()).toEqual(['CLOSED', 'e', expect.stringMatching(/^rate-limited: .*4 open subscriptions/)])
  })

  it('states the policy as protocol reads it, and the relay keeps it', async () => {
    const opts: RelayOptions = {
      policy: { acceptedKinds: [1, [7000, 7000]], pow: [{ kinds: [1], bits: 2 }], minPow: 1 }
    }
    const running = await relay(opts)
    const info = await fetchInfo(running.url)
    expect(relayPolicyFromInfo(info)).toEqual({
      minPow: 1,
      pow: [{ kinds: [1], bits: 2 }],
      acceptedKinds: [1, [7000, 7000]],
      authRequired: false
    })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    await expect(client.publish(sign(sk, { kind: 5100 }))).rejects.toThrow(/^blocked: /)
    // min_pow_difficulty 1 applies to a kind the table does not price.
    await expect(client.publish(sign(sk, { kind: 7000, tags: [['nonce', '0', '0']] }))).rejects.toThrow(
      /^pow: .*1 bits/
    )
  })

  it('claims NIP-42, auth_required and restricted_writes only when it enforces them', async () => {
    const writer = getPublicKey(generateSecretKey())
    const authed = await relay({ policy: { auth: 'writes' } })
    const restricted = await relay({ policy: { writers: [writer] } })
    const authInfo = await fetchInfo(authed.url)
    expect(authInfo.supported_nips).toContain(42)
    expect(authInfo.limitation).toMatchObject({ auth_required: true, restricted_writes: true })
    const writersInfo = await fetchInfo(restricted.url)
    expect(writersInfo.supported_nips).not.toContain(42)
    expect(writersInfo.limitation).toMatchObject({ auth_required: false, restricted_writes: true })

    const client = await connect(authed.url)
    await expect(client.publish(sign(generateSecretKey(), { kind: 7000 }))).rejects.toThrow(/^auth-required: /)
  })

  it('answers a plain HTTP request with 426', async () => {
    const running = await relay()
    const res = await fetch(relayInfoUrl(running.url))
    expect(res.status).toBe(426)
  })
})
