// Acceptance: the devnet's Nostr relay (2020117-relay) stores and serves events, refuses forged
// ones, keeps only the newest replaceable event, and by default prices kinds as the network does.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay'
import { SimplePool, useWebSocketImplementation as usePoolWebSocketImplementation } from 'nostr-tools/pool'
import {
  finalizeEvent,
  generateSecretKey,
  getPublicKey,
  verifyEvent,
  type Event,
  type EventTemplate
} from 'nostr-tools/pure'
import type { Filter } from 'nostr-tools/filter'
import WebSocket from 'ws'
import type { Devnet } from '../src/index.js'
import { removeDir, startTestDevnet, tempDir } from './helpers/devnet.js'

useWebSocketImplementation(WebSocket)
usePoolWebSocketImplementation(WebSocket)

let dir: string
let devnet: Devnet
let relayUrl: string
const clients: Relay[] = []
const pools: SimplePool[] = []

beforeAll(async () => {
  dir = await tempDir()
  // Storage and queries, without the network's proof of work: that policy is 2020117-relay's
  // (apps/relay/test) and the last test here checks that the devnet applies it by default.
  devnet = await startTestDevnet(dir, [], { webui: false, relayPolicy: { pow: [] } })
  relayUrl = devnet.state.relays[0]!
})

afterAll(async () => {
  for (const client of clients) client.close()
  for (const pool of pools) pool.destroy()
  await devnet?.close()
  await removeDir(dir)
})

async function connect(): Promise<Relay> {
  const client = await Relay.connect(relayUrl)
  clients.push(client)
  return client
}

const now = (): number => Math.floor(Date.now() / 1000)
// nostr-tools marks the events it signed with a symbol property; compare plain JSON values.
const plain = (event: Event): Event => JSON.parse(JSON.stringify(event)) as Event

function sign(sk: Uint8Array, template: Partial<EventTemplate> & { kind: number }): Event {
  return plain(finalizeEvent({ created_at: now(), tags: [], content: '', ...template }, sk))
}

/** Stored events matching `filters`, collected until EOSE. */
function query(client: Relay, filters: Filter[]): Promise<Event[]> {
  return new Promise((resolve, reject) => {
    const events: Event[] = []
    const sub = client.subscribe(filters, {
      onevent: (event) => events.push(plain(event)),
      oneose: () => {
        resolve(events)
        sub.close()
      },
      onclose: (reason) => reject(new Error(`subscription closed: ${reason}`))
    })
  })
}

describe('devnet relay', () => {
  it('listens on 127.0.0.1 and is named in the state', () => {
    expect(relayUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    expect(relayUrl).toBe(devnet.relay.url)
  })

  it('stores published events and answers queries for them (Relay and SimplePool)', async () => {
    const sk = generateSecretKey()
    const author = getPublicKey(sk)
    const publisher = await connect()
    const notes = [sign(sk, { kind: 1, content: 'first note' }), sign(sk, { kind: 1, content: 'second note' })]
    for (const note of notes) await publisher.publish(note)

    // A different connection sees them.
    const reader = await connect()
    const stored = await query(reader, [{ kinds: [1], authors: [author] }])
    expect(stored.map((e) => e.id).sort()).toEqual(notes.map((e) => e.id).sort())
    for (const event of stored) expect(verifyEvent(event)).toBe(true)

    const pool = new SimplePool()
    pools.push(pool)
    const viaPool = await pool.querySync([relayUrl], { ids: [notes[0]!.id] })
    expect(viaPool.map(plain)).toEqual([notes[0]])
    // A filter that matches nothing returns nothing: the answer is not just "everything".
    expect(await pool.querySync([relayUrl], { kinds: [1], authors: [getPublicKey(generateSecretKey())] })).toEqual([])
  })

  it('refuses an event with a bad signature and does not store it', async () => {
    const sk = generateSecretKey()
    const client = await connect()
    const good = sign(sk, { kind: 1, content: 'signed by me' })
    // Same id, content and author; the signature of another event.
    const other = sign(sk, { kind: 1, content: 'something else' })
    const forged: Event = { ...good, sig: other.sig }
    await expect(client.publish(forged)).rejects.toThrow(/^invalid: .*signature/)
    expect(await query(client, [{ ids: [good.id] }])).toEqual([])

    // The untampered event is then accepted, so the refusal was about the signature.
    await client.publish(good)
    expect(await query(client, [{ ids: [good.id] }])).toEqual([good])
  })

  it('keeps only the newest kind 0 (replaceable) event of an author', async () => {
    const sk = generateSecretKey()
    const author = getPublicKey(sk)
    const client = await connect()
    const t = now()
    const v1 = sign(sk, { kind: 0, content: JSON.stringify({ name: 'v1' }), created_at: t - 10 })
    const v2 = sign(sk, { kind: 0, content: JSON.stringify({ name: 'v2' }), created_at: t })
    const older = sign(sk, { kind: 0, content: JSON.stringify({ name: 'stale' }), created_at: t - 5 })
    await client.publish(v1)
    expect(await query(client, [{ kinds: [0], authors: [author] }])).toEqual([v1])
    await client.publish(v2)
    // An older version arriving late does not replace the newer one.
    await client.publish(older).catch(() => undefined)
    expect(await query(client, [{ kinds: [0], authors: [author] }])).toEqual([v2])
    expect(await query(client, [{ ids: [v1.id, older.id] }])).toEqual([])

    // Another author's kind 0 is separate.
    const sk2 = generateSecretKey()
    const theirs = sign(sk2, { kind: 0, content: '{}' })
    await client.publish(theirs)
    expect(await query(client, [{ kinds: [0], authors: [author, getPublicKey(sk2)] }])).toHaveLength(2)
  })

  it('by default prices kinds as the network does: an unmined job request and a kind outside the list are refused', async () => {
    const own = await tempDir()
    const priced = await startTestDevnet(own, [], { webui: false, blossom: false, lnurl: false })
    try {
      const client = await Relay.connect(priced.state.relays[0]!)
      clients.push(client)
      const sk = generateSecretKey()
      await expect(client.publish(sign(sk, { kind: 5100, content: 'x' }))).rejects.toThrow(
        /^pow: kind 5100 needs 10 bits/
      )
      await expect(client.publish(sign(sk, { kind: 4, content: 'x' }))).rejects.toThrow(/^blocked:/)
      await client.publish(sign(sk, { kind: 7000, content: 'free' }))
    } finally {
      await priced.close()
      await removeDir(own)
    }
  })
})
