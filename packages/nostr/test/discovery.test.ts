import { afterEach, describe, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import * as nip19 from 'nostr-tools/nip19'
import type { Filter } from 'nostr-tools'
import { findProviders, resolveProvider } from '../src/discovery.js'
import { RelayPool } from '../src/pool.js'
import { Presence, PRESENCE_D_TAG, type PresenceInfo } from '../src/presence.js'
import {
  handlerEvent,
  heartbeatEvent,
  now,
  nostrError,
  onCleanup,
  pool,
  publishOk,
  relay,
  runCleanups
} from './helpers.js'
import { kinds as KIND } from '@2020117/protocol'

afterEach(runCleanups)

const swarmOf = (n: number): string => n.toString(16).padStart(2, '0').repeat(32)

function info(over: Partial<PresenceInfo> = {}): PresenceInfo {
  return {
    name: 'sd-box',
    about: 'Stable Diffusion',
    lud16: null,
    kinds: [5200],
    satsPerMinute: 21,
    tickSeconds: 30,
    manifest: {},
    swarmKey: swarmOf(1),
    ...over
  }
}

/** A provider announced by Presence (the real publisher), stopped at cleanup. */
async function announce(
  p: RelayPool,
  over: Partial<PresenceInfo> = {},
  load = { capacity: 2, maxSessions: 5, sessions: 3 }
): Promise<string> {
  const sk = generateSecretKey()
  const pr = new Presence({ pool: p, secretKey: sk, info: info(over), load: () => load })
  await pr.start()
  await pr.profile
  onCleanup(() => pr.stop())
  return getPublicKey(sk)
}

describe('findProviders', () => {
  test('returns an announced provider: online, prices, capacity, swarm key, name', async () => {
    const r = await relay()
    const pubkey = await announce(pool([r.url]))
    const found = await findProviders(pool([r.url]), { kind: 5200 })
    expect(found).toHaveLength(1)
    const p = found[0]!
    expect(p).toEqual({
      pubkey,
      npub: nip19.npubEncode(pubkey),
      name: 'sd-box',
      kinds: [5200],
      prices: { '5200': 21 },
      tickSeconds: 30,
      status: 'online',
      capacity: 2,
      maxSessions: 5,
      sessions: 3,
      lastSeen: expect.any(Number),
      swarmKey: swarmOf(1),
      jobPrices: {}
    })
    expect(Math.abs(p.lastSeen - now())).toBeLessThan(600)
  })

  test('job prices are listed beside session prices; a jobs-only provider (no swarm key) only with jobsOnly', async () => {
    const r = await relay()
    const both = await announce(pool([r.url]), { jobPrices: { '5200': 3 } })
    const jobsOnly = await announce(pool([r.url]), { kinds: [], swarmKey: null, jobPrices: { '5200': 4 } })
    const found = await findProviders(pool([r.url]), { kind: 5200 })
    expect(found.map((p) => p.pubkey)).toEqual([both])
    expect(found[0]).toMatchObject({ prices: { '5200': 21 }, jobPrices: { '5200': 3 } })
    const all = await findProviders(pool([r.url]), { kind: 5200, jobsOnly: true })
    expect(all.find((p) => p.pubkey === jobsOnly)).toMatchObject({ swarmKey: '', prices: {}, jobPrices: { '5200': 4 } })
  })

  test('filtering by kind: another kind excludes the provider; no kind includes every provider', async () => {
    const r = await relay()
    const p = pool([r.url])
    const sd = await announce(p, { kinds: [5200], swarmKey: swarmOf(1) })
    const llm = await announce(p, { kinds: [5050], swarmKey: swarmOf(2) })
    const reader = pool([r.url])
    expect((await findProviders(reader, { kind: 5200 })).map((x) => x.pubkey)).toEqual([sd])
    expect((await findProviders(reader, { kind: 5050 })).map((x) => x.pubkey)).toEqual([llm])
    expect(await findProviders(reader, { kind: 5100 })).toEqual([])
    expect((await findProviders(reader)).map((x) => x.pubkey).sort()).toEqual([sd, llm].sort())
  })

  test('authors restricts the answer to those pubkeys', async () => {
    const r = await relay()
    const p = pool([r.url])
    const a = await announce(p, { swarmKey: swarmOf(1) })
    await announce(p, { swarmKey: swarmOf(2) })
    expect((await findProviders(pool([r.url]), { authors: [a] })).map((x) => x.pubkey)).toEqual([a])
  })

  test('a heartbeat older than maxAgeS is not used', async () => {
    const r = await relay()
    const p = pool([r.url])
    const sk = generateSecretKey()
    await publishOk(
      p,
      heartbeatEvent(sk, {
        content: { status: 'online', capacity: 1, hyperswarm: swarmOf(3) },
        createdAt: now() - 3600
      })
    )

    const reader = pool([r.url])
    expect(await findProviders(reader, { kind: 5200, maxAgeS: 600 })).toEqual([])
    expect(await findProviders(reader, { kind: 5200 })).toEqual([]) // default 600 s
    // The same heartbeat inside the window is found: the exclusion is the age, not the event.
    expect((await findProviders(reader, { kind: 5200, maxAgeS: 7200 })).map((x) => x.status)).toEqual(['online'])
  })

  test('a handler whose heartbeat is stale is listed with status unknown, not online', async () => {
    const r = await relay()
    const p = pool([r.url])
    const sk = generateSecretKey()
    await publishOk(
      p,
      handlerEvent(sk, {
        content: { name: 'old-box', hyperswarm: swarmOf(4), prices: { '5200': 5 } },
        createdAt: now() - 7200
      })
    )
    await publishOk(
      p,
      heartbeatEvent(sk, {
        content: { status: 'online', capacity: 1, hyperswarm: swarmOf(4) },
        createdAt: now() - 3600
      })
    )
    const [found, ...rest] = await findProviders(pool([r.url]), { kind: 5200, maxAgeS: 600 })
    expect(rest).toEqual([])
    expect(found).toMatchObject({
      name: 'old-box',
      status: 'unknown',
      capacity: null,
      sessions: null,
      prices: { '5200': 5 },
      swarmKey: swarmOf(4)
    })
  })

  test('the heartbeat overrides the handler for status, load, prices and swarm key; lastSeen is the newest', async () => {
    const r = await relay()
    const p = pool([r.url])
    const sk = generateSecretKey()
    const t = now()
    await publishOk(
      p,
      handlerEvent(sk, {
        content: { name: 'box', hyperswarm: swarmOf(5), prices: { '5200': 5 }, tick_seconds: 60 },
        createdAt: t - 100
      })
    )
    await publishOk(
      p,
      heartbeatEvent(sk, {
        content: {
          status: 'online',
          capacity: 7,
          max_sessions: 8,
          sessions: 1,
          hyperswarm: swarmOf(6),
          prices: { '5200': 9 }
        },
        createdAt: t - 5
      })
    )
    const [found] = await findProviders(pool([r.url]), { kind: 5200 })
    expect(found).toMatchObject({
      name: 'box',
      status: 'online',
      capacity: 7,
      maxSessions: 8,
      sessions: 1,
      prices: { '5200': 9 },
      swarmKey: swarmOf(6),
      tickSeconds: 60,
      lastSeen: t - 5
    })
  })

  test('malformed but signed content is skipped or bounded, never thrown', async () => {
    const r = await relay()
    const p = pool([r.url])
    const skipped: string[] = []
    const bad = async (event: (sk: Uint8Array) => Event): Promise<void> => {
      const sk = generateSecretKey()
      skipped.push(getPublicKey(sk))
      await publishOk(p, event(sk))
    }
    await bad((sk) => heartbeatEvent(sk, { content: 'not json {', raw: true, swarmKey: swarmOf(7) }))
    await bad((sk) => heartbeatEvent(sk, { content: 'null', raw: true, swarmKey: swarmOf(7) }))
    await bad((sk) => heartbeatEvent(sk, { content: '"online"', raw: true, swarmKey: swarmOf(7) }))
    await bad((sk) =>
      heartbeatEvent(sk, { content: { status: 'online', hyperswarm: 'not-a-swarm-key' }, swarmKey: 'not-a-swarm-key' })
    )
    await bad((sk) => heartbeatEvent(sk, { content: { status: 'online', hyperswarm: 'ab'.repeat(31) } }))
    await bad((sk) => heartbeatEvent(sk, { content: { status: 'online', hyperswarm: swarmOf(7) + '00' } }))
    await bad((sk) => heartbeatEvent(sk, { content: { status: 'online' } })) // no swarm key at all
    await bad((sk) => handlerEvent(sk, { content: 'not json', raw: true, swarmKey: swarmOf(7) }))

    // Oversized and ill-typed fields: bounded, not trusted.
    const bigSk = generateSecretKey()
    const prices: Record<string, unknown> = { '1': -5, '2': 1.5, '3': '7', '4': 9, '5': Number.MAX_SAFE_INTEGER + 1 }
    for (let i = 10; i < 1010; i++) prices[String(i)] = 1
    const manyKinds = Array.from({ length: 40 }, (_, i) => 6000 + i)
    const bigSigned = finalizeEvent(
      {
        kind: KIND.Heartbeat,
        created_at: now(),
        tags: [['d', PRESENCE_D_TAG], ...manyKinds.map((k) => ['k', String(k)]), ['k', 'abc'], ['k', '123456'], ['k']],
        content: JSON.stringify({
          status: 'online',
          capacity: -1,
          sessions: 1.5,
          max_sessions: '3',
          tick_seconds: 'soon',
          name: 'x'.repeat(1000),
          prices,
          hyperswarm: swarmOf(8)
        })
      },
      bigSk
    )
    await publishOk(p, bigSigned)

    // A good provider whose handler is malformed is still found through its heartbeat.
    const goodSk = generateSecretKey()
    await publishOk(p, handlerEvent(goodSk, { content: '{{{', raw: true, swarmKey: swarmOf(9) }))
    await publishOk(p, heartbeatEvent(goodSk, { content: { status: 'online', capacity: 1, hyperswarm: swarmOf(9) } }))

    const found = await findProviders(pool([r.url]))
    const byKey = new Map(found.map((x) => [x.pubkey, x]))
    for (const pk of skipped) expect(byKey.has(pk)).toBe(false)
    expect([...byKey.keys()].sort()).toEqual([getPublicKey(bigSk), getPublicKey(goodSk)].sort())

    const b = byKey.get(getPublicKey(bigSk))!
    // Integer-like keys enumerate in ascending order: the 32 inspected are '1'..'5' and '10'..'36';
    // '1', '2', '3' and '5' are not safe non-negative integers, which leaves 28.
    expect(Object.keys(b.prices)).toHaveLength(28)
    expect(b.prices['4']).toBe(9)
    for (const k of ['1', '2', '3', '5']) expect(b.prices).not.toHaveProperty(k)
    expect(b.name).toBe('x'.repeat(64))
    expect(b.kinds).toEqual(manyKinds.slice(0, 32))
    expect(b).toMatchObject({
      status: 'online',
      capacity: null,
      sessions: null,
      maxSessions: null,
      tickSeconds: null,
      swarmKey: swarmOf(8)
    })

    expect(byKey.get(getPublicKey(goodSk))).toMatchObject({
      status: 'online',
      name: '',
      capacity: 1,
      swarmKey: swarmOf(9)
    })
  })

  test('events with a bad signature are ignored, even when they are newer', async () => {
    // The relay refuses bad signatures, so a stub pool hands findProviders what a lying relay would.
    const sk = generateSecretKey()
    const genuine = heartbeatEvent(sk, {
      content: { status: 'online', capacity: 2, hyperswarm: swarmOf(10) },
      createdAt: now() - 30
    })
    const newer = heartbeatEvent(sk, {
      content: { status: 'online', capacity: 2, hyperswarm: swarmOf(11) },
      createdAt: now()
    })
    const forged = { ...newer, sig: newer.sig.slice(0, -1) + (newer.sig.endsWith('0') ? '1' : '0') }
    const strangerSk = generateSecretKey()
    const stranger = heartbeatEvent(strangerSk, { content: { status: 'online', hyperswarm: swarmOf(12) } })
    const forgedStranger = { ...stranger, content: JSON.stringify({ status: 'online', hyperswarm: swarmOf(13) }) }
    const stub = {
      relays: ['ws://127.0.0.1:1'],
      query: async (filter: Filter): Promise<Event[]> =>
        filter.kinds?.includes(KIND.Heartbeat)
          ? [genuine, forged, forgedStranger].map((e) => JSON.parse(JSON.stringify(e)) as Event)
          : []
    } as unknown as RelayPool
    const found = await findProviders(stub, { kind: 5200 })
    expect(found.map((x) => [x.pubkey, x.swarmKey])).toEqual([[getPublicKey(sk), swarmOf(10)]])
  })

  test('no relays is NO_RELAYS', async () => {
    await nostrError(() => findProviders(new RelayPool([])), 'NO_RELAYS')
  })
})

describe('resolveProvider', () => {
  test('finds a provider by pubkey among others', async () => {
    const r = await relay()
    const p = pool([r.url])
    const a = await announce(p, { swarmKey: swarmOf(1), name: 'a' })
    const b = await announce(p, { swarmKey: swarmOf(2), name: 'b' })
    const reader = pool([r.url])
    expect(await resolveProvider(reader, a)).toMatchObject({
      pubkey: a,
      swarmKey: swarmOf(1),
      name: 'a',
      status: 'online'
    })
    expect(await resolveProvider(reader, b)).toMatchObject({ pubkey: b, swarmKey: swarmOf(2), name: 'b' })
  })

  test('finds a provider whose last heartbeat is days old (30-day window)', async () => {
    const r = await relay()
    const p = pool([r.url])
    const sk = generateSecretKey()
    await publishOk(
      p,
      heartbeatEvent(sk, { content: { status: 'offline', hyperswarm: swarmOf(14) }, createdAt: now() - 3 * 24 * 3600 })
    )
    expect(await resolveProvider(pool([r.url]), getPublicKey(sk))).toMatchObject({
      swarmKey: swarmOf(14),
      status: 'offline'
    })
  })

  test('an unknown pubkey is PROVIDER_NOT_FOUND, naming its npub and the relays', async () => {
    const r = await relay()
    await announce(pool([r.url]))
    const unknown = getPublicKey(generateSecretKey())
    const err = await nostrError(() => resolveProvider(pool([r.url]), unknown), 'PROVIDER_NOT_FOUND')
    expect(err.message).toContain(nip19.npubEncode(unknown))
    expect(err.message).toContain(r.url)
  })
})
