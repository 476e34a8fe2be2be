import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import type { Filter } from 'nostr-tools/filter'
import { MAX_QUERY_LIMIT, OPEN_POLICY, SqliteEventRepository, type RelayOptions } from '../src/index.js'
import { connect, now, query, relay, sign, storedIds, tempDir } from './helpers.js'

function open(opts: RelayOptions = {}) {
  return relay({ policy: OPEN_POLICY, ...opts })
}

afterEach(() => {
  vi.useRealTimers()
})

describe('queries', () => {
  it('match #e, #p, #d, #k, authors, kinds, since, until and limit', async () => {
    const running = await open()
    const client = await connect(running.url)
    const [alice, bob] = [generateSecretKey(), generateSecretKey()]
    const [e1, p1] = ['e1'.repeat(32), 'b0'.repeat(32)]
    const t = now()
    const request = sign(alice, { kind: 5100, created_at: t - 30, tags: [['p', p1]] })
    const feedback = sign(bob, {
      kind: 7000,
      created_at: t - 20,
      tags: [
        ['e', e1],
        ['p', p1]
      ]
    })
    const cancel = sign(alice, {
      kind: 5,
      created_at: t - 10,
      tags: [
        ['e', 'ff'.repeat(32)],
        ['k', '5100']
      ]
    })
    const heartbeat = sign(bob, { kind: 30333, created_at: t, tags: [['d', 'hb']] })
    for (const event of [request, feedback, cancel, heartbeat]) await client.publish(event)

    const ask = (filter: Filter) => query(client, [filter]).then((events) => events.map((e) => e.id))
    expect(await ask({ '#e': [e1] })).toEqual([feedback.id])
    expect(await ask({ '#p': [p1] })).toEqual([feedback.id, request.id])
    expect(await ask({ '#p': [p1], kinds: [5100] })).toEqual([request.id])
    expect(await ask({ '#d': ['hb'] })).toEqual([heartbeat.id])
    expect(await ask({ '#k': ['5100'] })).toEqual([cancel.id])
    expect(await ask({ authors: [getPublicKey(alice)] })).toEqual([cancel.id, request.id])
    expect(await ask({ kinds: [7000, 30333] })).toEqual([heartbeat.id, feedback.id])
    expect(await ask({ since: t - 20, until: t - 10 })).toEqual([cancel.id, feedback.id])
    expect(await ask({ limit: 2 })).toEqual([heartbeat.id, cancel.id])
    expect(await ask({ '#p': [p1], '#e': [e1] })).toEqual([feedback.id])
    expect(await ask({ kinds: [] })).toEqual([])
    // A value is data, never SQL.
    expect(await ask({ '#p': ["x' OR 1=1 --"] })).toEqual([])
  })

  it('answer newest first with the lower id first on a tie, capped at MAX_QUERY_LIMIT', async () => {
    const repo = new SqliteEventRepository(':memory:', MAX_QUERY_LIMIT)
    const t = now()
    // The repository trusts its caller (the relay verifies signatures): plain records suffice.
    const fake = (i: number, created_at: number): Event => ({
      id: i.toString(16).padStart(64, '0'),
      pubkey: 'a'.repeat(64),
      kind: 1,
      created_at,
      tags: [],
      content: '',
      sig: 'b'.repeat(128)
    })
    for (let i = 0; i < MAX_QUERY_LIMIT + 10; i++) await repo.upsert(fake(i, t - (i % 3)))
    expect(repo.find({ limit: 10_000 })).toHaveLength(MAX_QUERY_LIMIT)
    expect(repo.find({})).toHaveLength(MAX_QUERY_LIMIT)
    const top = repo.find({ limit: 3 }).map((e) => e.id)
    expect(top).toEqual([fake(0, t).id, fake(3, t).id, fake(6, t).id])
    await repo.destroy()
  })
})

describe('NIP-40 expiration and retention', () => {
  it('refuses an event that has expired with invalid:', async () => {
    const running = await open()
    const client = await connect(running.url)
    const expired = sign(generateSecretKey(), { kind: 1, tags: [['expiration', String(now() - 1)]] })
    await expect(client.publish(expired)).rejects.toThrow(/^invalid: event expired at/)
  })

  it('stops serving an event once it expires, and prunes it from the file', async () => {
    const db = join(await tempDir(), 'relay.sqlite')
    const sk = generateSecretKey()
    const t = now()
    const brief = sign(sk, { kind: 1, tags: [['expiration', String(t + 100)]] })
    const lasting = sign(sk, { kind: 1, created_at: t - 1 })
    const first = await open({ db })
    const client = await connect(first.url)
    await client.publish(brief)
    await client.publish(lasting)
    expect(await query(client, [{ kinds: [1] }])).toEqual([brief, lasting])

    // Only Date is faked: sockets and timers run as usual.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime((t + 101) * 1000)
    expect(await query(client, [{ kinds: [1] }])).toEqual([lasting])
    await first.close()
    // The sweep runs at start (and every minute after).
    await open({ db })
    expect(storedIds(db)).toEqual([lasting.id])
  })

  it('prunes regular events older than retentionSeconds, keeping replaceables, addressables and deletions', async () => {
    const db = join(await tempDir(), 'relay.sqlite')
    const sk = generateSecretKey()
    const old = now() - 1000
    const oldNote = sign(sk, { kind: 1, created_at: old })
    const newNote = sign(sk, { kind: 1 })
    const profile = sign(sk, { kind: 0, created_at: old })
    const heartbeat = sign(sk, { kind: 30333, created_at: old, tags: [['d', 'hb']] })
    const deletion = sign(sk, { kind: 5, created_at: old, tags: [['e', 'ee'.repeat(32)]] })
    const first = await open({ db })
    const client = await connect(first.url)
    for (const event of [oldNote, newNote, profile, heartbeat, deletion]) await client.publish(event)
    await first.close()

    const second = await open({ db, policy: { ...OPEN_POLICY, retentionSeconds: 500 } })
    expect(storedIds(db).sort()).toEqual([newNote.id, profile.id, heartbeat.id, deletion.id].sort())
    expect(second.info.retention).toEqual([{ kinds: [[1, 2], 4, [6, 9999], [40000, 65535]], time: 500 }])
  })
})

describe('NIP-09 with a coordinates', () => {
  it('deletes a replaceable event by its a coordinate, and the tombstone survives a restart', async () => {
    const db = join(await tempDir(), 'relay.sqlite')
    const sk = generateSecretKey()
    const t = now()
    const profile = sign(sk, { kind: 0, created_at: t - 10, content: '{"name":"old"}' })
    const deletion = sign(sk, { kind: 5, created_at: t - 5, tags: [['a', `0:${getPublicKey(sk)}:`]] })
    const first = await open({ db })
    const client = await connect(first.url)
    await client.publish(profile)
    await client.publish(deletion)
    expect(await query(client, [{ kinds: [0] }])).toEqual([])
    await first.close()

    const second = await open({ db })
    const reader = await connect(second.url)
    const older = sign(sk, { kind: 0, created_at: t - 6, content: '{"name":"older"}' })
    await expect(reader.publish(older)).rejects.toThrow(/^blocked: .*deleted/)
    const newer = sign(sk, { kind: 0, created_at: t, content: '{"name":"new"}' })
    await reader.publish(newer)
    expect(await query(reader, [{ kinds: [0] }])).toEqual([newer])
  })
})
