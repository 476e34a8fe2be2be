import { once } from 'node:events'
import { afterEach, describe, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { RelayPool } from '../src/pool.js'
import { now, pool, publishOk, relay, runCleanups } from './helpers.js'

afterEach(runCleanups)

const note = (sk: Uint8Array, content = 'hello') => finalizeEvent({ kind: 1, created_at: now(), tags: [], content }, sk)

describe('RelayPool', () => {
  test('deduplicates relay URLs', () => {
    const p = new RelayPool(['ws://127.0.0.1:1', 'ws://127.0.0.1:1', 'ws://127.0.0.1:2'])
    expect(p.relays).toEqual(['ws://127.0.0.1:1', 'ws://127.0.0.1:2'])
    p.close()
  })

  test('publish resolves with the number of relays that accepted; query reads it back', async () => {
    const a = await relay()
    const b = await relay()
    const sk = generateSecretKey()
    const event = note(sk)
    expect(await pool([a.url, b.url]).publish(event)).toBe(2)
    for (const url of [a.url, b.url]) {
      const got = await pool([url]).query({ authors: [getPublicKey(sk)] })
      expect(got.map((e) => e.id)).toEqual([event.id])
    }
  })

  test('publish returns 0, not an error, when the relay is down', async () => {
    const r = await relay()
    await r.close()
    expect(await pool([r.url]).publish(note(generateSecretKey()))).toBe(0)
  })

  test('publish counts only the relays that are up', async () => {
    const up = await relay()
    const down = await relay()
    await down.close()
    expect(await pool([up.url, down.url]).publish(note(generateSecretKey()))).toBe(1)
  })

  test('publish returns 0 when the relay refuses the event (bad signature)', async () => {
    const r = await relay()
    const event = note(generateSecretKey())
    const forged = { ...event, sig: event.sig.slice(0, -1) + (event.sig.endsWith('0') ? '1' : '0') }
    const p = pool([r.url])
    expect(await p.publish(forged)).toBe(0)
    expect(await p.query({ ids: [event.id] })).toEqual([])
  })

  test('query on a relay that is down resolves with no events', async () => {
    const r = await relay()
    await r.close()
    expect(await pool([r.url]).query({ kinds: [1] })).toEqual([])
  })

  test('a persistent pool redials a relay that restarted, says so, and publishes there again', async () => {
    const r = await relay()
    const p = pool([r.url], { persistent: true })
    expect(await p.publish(note(generateSecretKey()))).toBe(1)
    const back = once(p, 'reconnect') as Promise<[string]>
    await r.close()
    const again = await relay(r.port)
    expect(again.url).toBe(r.url)
    expect((await back)[0]).toBe(r.url)
    const event = note(generateSecretKey(), 'after the restart')
    expect(await p.publish(event)).toBe(1)
    expect((await p.query({ ids: [event.id] })).map((e) => e.id)).toEqual([event.id])
  })

  test('a persistent pool keeps dialling a relay that was down at start, and says so when it answers', async () => {
    const r = await relay()
    await r.close()
    const p = pool([r.url], { persistent: true })
    const back = once(p, 'reconnect') as Promise<[string]>
    await relay(r.port)
    expect((await back)[0]).toBe(r.url)
  })

  test('a subscription receives events as they are published, and no more once closed', async () => {
    const r = await relay()
    const p = pool([r.url], { persistent: true })
    const sk = generateSecretKey()
    const got: string[] = []
    let arrived: (() => void) | null = null
    const sub = p.subscribe({ kinds: [1], authors: [getPublicKey(sk)] }, (event, url) => {
      expect(url).toBe(r.url)
      got.push(event.content)
      arrived?.()
    })
    await sub.ready
    const first = new Promise<void>((resolve) => (arrived = resolve))
    await publishOk(p, note(sk, 'one'))
    await first
    sub.close()
    await publishOk(p, note(sk, 'two'))
    // The query's answer comes after any event the relay would have sent to the closed subscription.
    expect((await p.query({ authors: [getPublicKey(sk)] })).length).toBe(2)
    expect(got).toEqual(['one'])
  })

  test('a subscription of a persistent pool survives a relay restart, from where it left off', async () => {
    const r = await relay()
    const p = pool([r.url], { persistent: true })
    const sk = generateSecretKey()
    const got: string[] = []
    const waiters: Array<() => void> = []
    const sub = p.subscribe(
      { kinds: [1], authors: [getPublicKey(sk)] },
      (event) => {
        got.push(event.content)
        waiters.shift()?.()
      },
      { since: () => now() - 5 }
    )
    await sub.ready
    const back = once(p, 'reconnect')
    await r.close()
    await relay(r.port)
    await back
    await sub.ready
    const arrived = new Promise<void>((resolve) => waiters.push(resolve))
    await publishOk(p, note(sk, 'after the restart'))
    await arrived
    expect(got).toEqual(['after the restart'])
  })
})

test('a relay that takes the connection but never finishes the WebSocket handshake costs a timeout, not the process', async () => {
  // nostr-tools closes a socket still connecting when its connection timeout fires and drops the
  // socket's error listener first; ws then emits 'error' with no listener, which killed the bin.
  const sockets: import('node:net').Socket[] = []
  const silent = (await import('node:net')).createServer((s) => void sockets.push(s))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const uncaught: unknown[] = []
  const onUncaught = (err: unknown) => void uncaught.push(err)
  process.on('uncaughtException', onUncaught)
  try {
    const { port } = silent.address() as import('node:net').AddressInfo
    const p = new RelayPool([`ws://127.0.0.1:${port}`])
    expect(await p.query({ kinds: [1] }, 1000)).toEqual([])
    expect(await p.publish(note(generateSecretKey()), 1000)).toBe(0)
    p.close()
    // The error comes a tick after the timeout: give the loop a turn for it to surface.
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(uncaught).toEqual([])
  } finally {
    process.off('uncaughtException', onUncaught)
    for (const s of sockets) s.destroy()
    silent.close()
  }
})
