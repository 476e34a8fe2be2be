import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Relay } from 'nostr-tools/relay'
import { generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { OPEN_POLICY, startRelay, type RelayOptions, type RunningRelay } from '../src/index.js'
import {
  cleanups,
  connect,
  now,
  plain,
  query,
  rawClient,
  relay as startCleaned,
  sign,
  storedIds,
  tempDir
} from './helpers.js'

const CHILD = new URL('./fixtures/relay-child.ts', import.meta.url)
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

// These tests are about storage and bounds, not the network's policy (policy.test.ts): accept
// every kind without proof of work.
function relay(opts: RelayOptions = {}): Promise<RunningRelay> {
  return startCleaned({ policy: OPEN_POLICY, ...opts })
}

describe('@2020117/relay', () => {
  it('binds 127.0.0.1 on an ephemeral port by default', async () => {
    const running = await relay()
    expect(running.host).toBe('127.0.0.1')
    expect(running.port).toBeGreaterThan(0)
    expect(running.url).toBe(`ws://127.0.0.1:${running.port}`)
  })

  it('stores a published event and answers a query for it', async () => {
    const running = await relay()
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const note = sign(sk, { kind: 1, content: 'hello', tags: [['t', 'compute']] })
    await client.publish(note)

    expect(await query(client, [{ ids: [note.id] }])).toEqual([note])
    expect(await query(client, [{ authors: [getPublicKey(sk)], kinds: [1] }])).toEqual([note])
    expect(await query(client, [{ '#t': ['compute'] }])).toEqual([note])
    expect(await query(client, [{ '#t': ['other'] }])).toEqual([])
    expect(await query(client, [{ kinds: [1], since: note.created_at + 1 }])).toEqual([])
  })

  it('answers newest first and honours limit', async () => {
    const running = await relay()
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const t = now()
    const events = [
      sign(sk, { kind: 1, created_at: t - 2 }),
      sign(sk, { kind: 1, created_at: t }),
      sign(sk, { kind: 1, created_at: t - 1 })
    ]
    for (const event of events) await client.publish(event)

    const got = await query(client, [{ kinds: [1], limit: 2 }])
    expect(got.map((e) => e.created_at)).toEqual([t, t - 1])
  })

  it('refuses a bad signature with OK false, even for the id of a valid event', async () => {
    const running = await relay()
    const client = await connect(running.url)
    const note = sign(generateSecretKey(), { kind: 1, content: 'signed' })
    const lastHex = note.sig.endsWith('0') ? '1' : '0'
    const forged = { ...note, sig: note.sig.slice(0, -1) + lastHex }

    await expect(client.publish(forged)).rejects.toThrow(/^invalid: .*signature/)
    expect(await query(client, [{ ids: [note.id] }])).toEqual([])

    // The refusal is not remembered against the id: the genuine event is still accepted, and a
    // forged copy of a stored event is still refused rather than acknowledged as a duplicate.
    await client.publish(note)
    await expect(client.publish(forged)).rejects.toThrow(/^invalid: /)
    expect(await query(client, [{ ids: [note.id] }])).toEqual([note])
  })

  it('keeps only the newest replaceable event per pubkey and kind, lowest id on a tie', async () => {
    const running = await relay()
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const t = now()
    const v1 = sign(sk, { kind: 0, created_at: t - 10, content: '{"name":"v1"}' })
    const v2 = sign(sk, { kind: 0, created_at: t, content: '{"name":"v2"}' })
    const older = sign(sk, { kind: 0, created_at: t - 5, content: '{"name":"late but older"}' })
    for (const event of [v1, v2, older]) await client.publish(event)
    expect(await query(client, [{ kinds: [0], authors: [getPublicKey(sk)] }])).toEqual([v2])

    const tieA = sign(sk, { kind: 10002, created_at: t, content: 'a' })
    const tieB = sign(sk, { kind: 10002, created_at: t, content: 'b' })
    const [low, high] = tieA.id < tieB.id ? [tieA, tieB] : [tieB, tieA]
    await client.publish(high)
    await client.publish(low)
    await client.publish(high)
    expect(await query(client, [{ kinds: [10002] }])).toEqual([low])
  })

  it('keeps the newest addressable event per pubkey, kind and d tag', async () => {
    const running = await relay()
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const t = now()
    const a1 = sign(sk, { kind: 30333, created_at: t - 1, tags: [['d', 'a']], content: 'a1' })
    const a2 = sign(sk, { kind: 30333, created_at: t, tags: [['d', 'a']], content: 'a2' })
    const b1 = sign(sk, { kind: 30333, created_at: t - 1, tags: [['d', 'b']], content: 'b1' })
    for (const event of [a1, b1, a2]) await client.publish(event)

    expect(await query(client, [{ kinds: [30333] }])).toEqual([a2, b1])
    expect(await query(client, [{ kinds: [30333], '#d': ['a'] }])).toEqual([a2])
  })

  it('delivers ephemeral events to live subscriptions without storing them', async () => {
    const running = await relay()
    const listener = await connect(running.url)
    const publisher = await connect(running.url)
    const sk = generateSecretKey()
    const request = sign(sk, { kind: 23194, tags: [['p', 'ab'.repeat(32)]], content: 'encrypted' })

    let deliver: (event: Event) => void = () => undefined
    const delivered = new Promise<Event>((resolve) => (deliver = resolve))
    await new Promise<void>((resolve) =>
      listener.subscribe([{ kinds: [23194] }], { onevent: (e) => deliver(plain(e)), oneose: resolve })
    )
    await publisher.publish(request)
    expect(await delivered).toEqual(request)
    expect(await query(publisher, [{ kinds: [23194] }])).toEqual([])
  })

  it('applies #tag filters to live events, not only to stored ones', async () => {
    const running = await relay()
    const raw = await rawClient(running.url)
    const publisher = await connect(running.url)
    const sk = generateSecretKey()
    const wanted = 'aa'.repeat(32)
    raw.ws.send(JSON.stringify(['REQ', 'replies', { kinds: [23195], '#e': [wanted] }]))
    expect(await raw.next()).toEqual(['EOSE', 'replies'])

    // Events on one connection arrive in order, so had the other reply leaked it would come first.
    const other = sign(sk, { kind: 23195, tags: [['e', 'bb'.repeat(32)]] })
    const mine = sign(sk, { kind: 23195, tags: [['e', wanted]] })
    await publisher.publish(other)
    await publisher.publish(mine)
    expect(await raw.next()).toEqual(['EVENT', 'replies', mine])
  })

  it('persists accepted events across a restart with the same db file, deleting superseded ones', async () => {
    const db = join(await tempDir(), 'relay.sqlite')
    const sk = generateSecretKey()
    const t = now()
    const note = sign(sk, { kind: 1, content: 'durable', created_at: t - 3 })
    const profiles = [0, 1, 2].map((i) => sign(sk, { kind: 0, created_at: t - 2 + i, content: `v${i}` }))
    const ephemeral = sign(sk, { kind: 20001, content: 'gone' })

    const first = await startRelay({ db, policy: OPEN_POLICY })
    const client = await Relay.connect(first.url)
    for (const event of [note, ...profiles, ephemeral]) await client.publish(event)
    client.close()
    await first.close()
    // Superseded profiles are deleted from the file, not only hidden from queries.
    expect(storedIds(db).sort()).toEqual([note.id, profiles[2]!.id].sort())

    const second = await relay({ db })
    const reader = await connect(second.url)
    expect(await query(reader, [{ authors: [getPublicKey(sk)] }])).toEqual([profiles[2], note])
  })

  it('has an event in the file by the time its OK arrives, before any close', async () => {
    const db = join(await tempDir(), 'relay.sqlite')
    const writer = await relay({ db })
    const note = sign(generateSecretKey(), { kind: 1, content: 'before the crash' })
    await (await connect(writer.url)).publish(note)

    // The first relay is still open (nothing was flushed by a close): a second one on the same
    // file, as after a crash and restart, serves the event.
    expect(storedIds(db)).toEqual([note.id])
    const second = await relay({ db })
    expect(await query(await connect(second.url), [{ ids: [note.id] }])).toEqual([note])
  })

  it('serves an event after the relay process is killed with SIGKILL right after its OK', async () => {
    const db = join(await tempDir(), 'relay.sqlite')
    const child = spawn(process.execPath, ['--import', tsxLoader, fileURLToPath(CHILD), db], {
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal))
    )
    cleanups.push(() => child.kill('SIGKILL'))
    const [url] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string]
    const note = sign(generateSecretKey(), { kind: 1, content: 'acknowledged, then the power went' })
    const client = await Relay.connect(url)
    await client.publish(note)
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    client.close()

    const again = await relay({ db })
    expect(await query(await connect(again.url), [{ ids: [note.id] }])).toEqual([note])
  })

  it('accepts the deprecated dir option as <dir>/relay.sqlite', async () => {
    const dir = await tempDir()
    const first = await relay({ dir })
    const note = sign(generateSecretKey(), { kind: 1 })
    await (await connect(first.url)).publish(note)
    expect(storedIds(join(dir, 'relay.sqlite'))).toEqual([note.id])
  })

  it('refuses an event above maxEventBytes with OK false', async () => {
    const running = await relay({ limits: { maxEventBytes: 1024 } })
    const client = await connect(running.url)
    const big = sign(generateSecretKey(), { kind: 1, content: 'x'.repeat(2000) })
    await expect(client.publish(big)).rejects.toThrow(/^invalid: event is \d+ bytes, above .* 1024 bytes/)
    const small = sign(generateSecretKey(), { kind: 1, content: 'fits' })
    await client.publish(small)
  })

  it('refuses a subscription above maxSubscriptionsPerConnection with CLOSED, keeping the others', async () => {
    const running = await relay({ limits: { maxSubscriptionsPerConnection: 2 } })
    const client = await connect(running.url)
    let firstDelivery: (event: Event) => void = () => undefined
    const delivered = new Promise<Event>((resolve) => (firstDelivery = resolve))
    await new Promise<void>((resolve) =>
      client.subscribe([{ kinds: [1] }], { onevent: (e) => firstDelivery(plain(e)), oneose: resolve })
    )
    await new Promise<void>((resolve) => client.subscribe([{ kinds: [2] }], { oneose: resolve }))
    const reason = await new Promise<string>((resolve) => client.subscribe([{ kinds: [3] }], { onclose: resolve }))
    expect(reason).toMatch(/^rate-limited: .*2 open subscriptions/)

    // The first subscription was not evicted to make room.
    const note = sign(generateSecretKey(), { kind: 1 })
    await client.publish(note)
    expect(await delivered).toEqual(note)
  })

  it('refuses a REQ with more than maxFiltersPerSubscription filters with CLOSED', async () => {
    const running = await relay({ limits: { maxFiltersPerSubscription: 2 } })
    const client = await connect(running.url)
    const reason = await new Promise<string>((resolve) => {
      client.subscribe([{ kinds: [1] }, { kinds: [2] }, { kinds: [3] }], { onclose: resolve })
    })
    expect(reason).toMatch(/^invalid: subscription has 3 filters, above .* 2/)
    await query(client, [{ kinds: [1] }, { kinds: [2] }])
  })

  it('refuses a connection above maxConnections with a NOTICE and close code 1013', async () => {
    const running = await relay({ limits: { maxConnections: 2 } })
    await connect(running.url)
    await connect(running.url)
    const third = await rawClient(running.url)
    const notice = await third.next()
    expect(notice[0]).toBe('NOTICE')
    expect(notice[1]).toMatch(/^rate-limited: relay already serves 2 connections/)
    expect(await third.closed).toBe(1013)
  })

  it('closes a connection that sends a message above maxMessageBytes with 1009, and keeps serving', async () => {
    const running = await relay({ limits: { maxMessageBytes: 4096 } })
    const raw = await rawClient(running.url)
    raw.ws.send(JSON.stringify(['REQ', 'big', { ids: ['a'.repeat(5000)] }]))
    expect(await raw.closed).toBe(1009)

    const client = await connect(running.url)
    const note = sign(generateSecretKey(), { kind: 1 })
    await client.publish(note)
    expect(await query(client, [{ ids: [note.id] }])).toEqual([note])
  })

  it('answers malformed messages with a NOTICE and stays up', async () => {
    const running = await relay()
    const raw = await rawClient(running.url)
    raw.ws.send('not json')
    expect(await raw.next()).toEqual(['NOTICE', expect.stringMatching(/^invalid: message is not JSON/)])
    raw.ws.send(JSON.stringify(['EVENT', { id: 'cd'.repeat(32), kind: 'one' }]))
    expect(await raw.next()).toEqual(['OK', 'cd'.repeat(32), false, expect.stringMatching(/^invalid: /)])
    raw.ws.send(JSON.stringify(['REQ', 'sub', { kinds: [1], bogus: true }]))
    expect(await raw.next()).toEqual(['CLOSED', 'sub', expect.stringMatching(/^invalid: filter field "bogus"/)])
    raw.ws.send(JSON.stringify(['REQ', 'ok', { kinds: [1] }]))
    expect(await raw.next()).toEqual(['EOSE', 'ok'])
  })

  it('applies a NIP-09 deletion: the named event is gone, the kind 5 is stored and reaches live subscribers', async () => {
    const running = await relay()
    const client = await connect(running.url)
    const watcher = await rawClient(running.url)
    const sk = generateSecretKey()
    const request = sign(sk, { kind: 5200, content: 'job' })
    const kept = sign(sk, { kind: 5200, content: 'other job' })
    await client.publish(request)
    await client.publish(kept)
    watcher.ws.send(JSON.stringify(['REQ', 'cancels', { kinds: [5] }]))
    expect(await watcher.next()).toEqual(['EOSE', 'cancels'])

    const deletion = sign(sk, {
      kind: 5,
      tags: [
        ['e', request.id],
        ['k', '5200']
      ],
      content: 'cancelled'
    })
    await client.publish(deletion)
    expect(await watcher.next()).toEqual(['EVENT', 'cancels', deletion])
    expect(await query(client, [{ kinds: [5200] }])).toEqual([kept])
    expect(await query(client, [{ kinds: [5] }])).toEqual([deletion])
    // Publishing the deleted event again is refused, not acknowledged.
    await expect(client.publish(request)).rejects.toThrow(/^blocked: .*deleted/)
    expect(await query(client, [{ ids: [request.id] }])).toEqual([])
  })

  it("deletes nothing of another author's, and a stranger's deletion blocks nothing", async () => {
    const running = await relay()
    const client = await connect(running.url)
    const owner = generateSecretKey()
    const stranger = generateSecretKey()
    const note = sign(owner, { kind: 1, content: 'mine' })
    const later = sign(owner, { kind: 1, content: 'not yet published' })
    const profile = sign(owner, { kind: 30333, tags: [['d', 'x']] })
    await client.publish(note)
    await client.publish(profile)
    const coordinate = `30333:${getPublicKey(owner)}:x`
    const deletion = sign(stranger, {
      kind: 5,
      tags: [
        ['e', note.id],
        ['e', later.id],
        ['a', coordinate]
      ]
    })
    await client.publish(deletion)
    expect(await query(client, [{ authors: [getPublicKey(owner)] }])).toEqual(expect.arrayContaining([note, profile]))
    await client.publish(later)
    expect(await query(client, [{ ids: [later.id] }])).toEqual([later])
  })

  it('deletes an addressable event by its a coordinate up to the deletion time, not newer versions', async () => {
    const running = await relay()
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const t = now()
    const old = sign(sk, { kind: 30333, created_at: t - 10, tags: [['d', 'hb']], content: 'old' })
    const other = sign(sk, { kind: 30333, created_at: t - 10, tags: [['d', 'kept']], content: 'kept' })
    await client.publish(old)
    await client.publish(other)
    const deletion = sign(sk, { kind: 5, created_at: t - 5, tags: [['a', `30333:${getPublicKey(sk)}:hb`]] })
    await client.publish(deletion)
    expect(await query(client, [{ kinds: [30333] }])).toEqual([other])

    const older = sign(sk, { kind: 30333, created_at: t - 6, tags: [['d', 'hb']], content: 'older than the deletion' })
    await expect(client.publish(older)).rejects.toThrow(/^blocked: .*deleted/)
    const newer = sign(sk, { kind: 30333, created_at: t, tags: [['d', 'hb']], content: 'new' })
    await client.publish(newer)
    expect(await query(client, [{ kinds: [30333], '#d': ['hb'] }])).toEqual([newer])
  })

  it('a deletion of a deletion has no effect', async () => {
    const running = await relay()
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const note = sign(sk, { kind: 1 })
    await client.publish(note)
    const deletion = sign(sk, { kind: 5, tags: [['e', note.id]] })
    await client.publish(deletion)
    await client.publish(sign(sk, { kind: 5, tags: [['e', deletion.id]] }))
    expect(await query(client, [{ ids: [deletion.id] }])).toEqual([deletion])
    await expect(client.publish(note)).rejects.toThrow(/^blocked: /)
  })

  it('keeps deletions across a restart: the deleted event stays gone and refused', async () => {
    const db = join(await tempDir(), 'relay.sqlite')
    const sk = generateSecretKey()
    const note = sign(sk, { kind: 1, content: 'to delete' })
    const deletion = sign(sk, { kind: 5, tags: [['e', note.id]] })
    const first = await startRelay({ db, policy: OPEN_POLICY })
    const client = await Relay.connect(first.url)
    await client.publish(note)
    await client.publish(deletion)
    client.close()
    await first.close()

    for (let restart = 0; restart < 2; restart++) {
      const again = await startRelay({ db, policy: OPEN_POLICY })
      const reader = await Relay.connect(again.url)
      expect(await query(reader, [{ authors: [getPublicKey(sk)] }])).toEqual([deletion])
      await expect(reader.publish(note)).rejects.toThrow(/^blocked: .*deleted/)
      reader.close()
      await again.close()
    }
  })

  it('refuses a deletion with more than maxDeletionTags tags', async () => {
    const running = await relay({ limits: { maxDeletionTags: 3 } })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const tags = [0, 1, 2, 3].map((i) => ['e', String(i).repeat(64)])
    await expect(client.publish(sign(sk, { kind: 5, tags }))).rejects.toThrow(/^invalid: .*4 tags.*3/)
    await client.publish(sign(sk, { kind: 5, tags: tags.slice(0, 3) }))
  })

  it('describes itself and its limits over NIP-11', async () => {
    const running = await relay({ limits: { maxFiltersPerSubscription: 3 } })
    const res = await fetch(`http://127.0.0.1:${running.port}/`, { headers: { accept: 'application/nostr+json' } })
    const info = (await res.json()) as { supported_nips: number[]; limitation: { max_filters: number } }
    expect(info.supported_nips).toContain(1)
    expect(info.limitation.max_filters).toBe(3)
  })

  it('close() resolves with clients still connected and releases the port', async () => {
    const running = await startRelay()
    const client = await Relay.connect(running.url)
    const dropped = new Promise<void>((resolve) => {
      client.onclose = () => resolve()
    })
    await running.close()
    await dropped
    const again = await relay({ port: running.port })
    expect(again.port).toBe(running.port)
  })
})
