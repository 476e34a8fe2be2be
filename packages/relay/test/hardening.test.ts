// The fixes for the hostile review, beyond the review's own tests (review-*.test.ts).

import { describe, expect, it } from 'vitest'
import { generateSecretKey } from 'nostr-tools/pure'
import { OPEN_POLICY } from '../src/index.js'
import { connect, now, rawClient, relay, sign } from './helpers.js'

const NO_REFILL = 0.0001

describe('replays', () => {
  it('answers a replayed ephemeral event as a duplicate: not broadcast again, no token of its author taken', async () => {
    const running = await relay({
      policy: OPEN_POLICY,
      limits: { eventsPerSecondPerPubkey: NO_REFILL, eventBurstPerPubkey: 2 }
    })
    const reader = await rawClient(running.url)
    reader.ws.send(JSON.stringify(['REQ', 'live', { kinds: [20001] }]))
    expect(await reader.next()).toEqual(['EOSE', 'live'])
    const sk = generateSecretKey()
    const event = sign(sk, { kind: 20001, content: 'once' })
    const writer = await rawClient(running.url)
    writer.ws.send(JSON.stringify(['EVENT', event]))
    expect(await writer.next()).toEqual(['OK', event.id, true, ''])
    for (let i = 0; i < 3; i++) {
      writer.ws.send(JSON.stringify(['EVENT', event]))
      expect(await writer.next()).toEqual(['OK', event.id, true, expect.stringMatching(/^duplicate: /)])
    }
    const second = sign(sk, { kind: 20001, content: 'twice' })
    writer.ws.send(JSON.stringify(['EVENT', second]))
    expect(await writer.next()).toEqual(['OK', second.id, true, ''])
    // The reader got each event once, in order.
    expect(await reader.next()).toEqual(['EVENT', 'live', event])
    expect(await reader.next()).toEqual(['EVENT', 'live', second])
  })
})

describe('the clock', () => {
  it('refuses an event dated more than 15 minutes ahead with invalid:, and takes one 10 minutes ahead', async () => {
    const running = await relay({ policy: OPEN_POLICY })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    await expect(client.publish(sign(sk, { kind: 1, created_at: now() + 16 * 60 }))).rejects.toThrow(
      /^invalid: .*fix your clock/
    )
    await expect(client.publish(sign(sk, { kind: 1, created_at: now() + 10 * 60 }))).resolves.toBeDefined()
  })
})

describe('filter bounds', () => {
  it('serves a filter at the bounds and refuses one past the total', async () => {
    const running = await relay({ policy: OPEN_POLICY })
    const raw = await rawClient(running.url)
    const values = (n: number, p: string): string[] => Array.from({ length: n }, (_, i) => `${p}${i}`)
    raw.ws.send(JSON.stringify(['REQ', 'ok', { '#e': values(1000, 'e'), '#p': values(1000, 'p') }]))
    expect(await raw.next()).toEqual(['EOSE', 'ok'])
    raw.ws.send(JSON.stringify(['REQ', 'no', { '#e': values(1000, 'e'), '#p': values(1000, 'p'), ids: ['x'] }]))
    expect(await raw.next()).toEqual(['CLOSED', 'no', expect.stringMatching(/^invalid: .*limit of 2000/)])
  })
})

describe('tag queries walk the tag index', () => {
  it('return each event once, newest first then by id, whatever tag rows match it', async () => {
    const running = await relay({ policy: OPEN_POLICY })
    const client = await connect(running.url)
    const sk = generateSecretKey()
    const t = now() - 100
    const events = [
      sign(sk, {
        kind: 1,
        created_at: t,
        content: 'a',
        tags: [
          ['t', 'x'],
          ['t', 'x'],
          ['t', 'y']
        ]
      }),
      sign(sk, { kind: 1, created_at: t, content: 'b', tags: [['t', 'y']] }),
      sign(sk, {
        kind: 1,
        created_at: t + 1,
        content: 'c',
        tags: [
          ['t', 'x'],
          ['p', 'q']
        ]
      }),
      sign(sk, { kind: 1, created_at: t + 2, content: 'd', tags: [['t', 'z']] })
    ]
    for (const event of events) await client.publish(event)
    const raw = await rawClient(running.url)
    const ids = async (filter: object): Promise<string[]> => {
      raw.ws.send(JSON.stringify(['REQ', 'q', filter]))
      const got: string[] = []
      for (;;) {
        const message = await raw.next()
        if (message[0] === 'EOSE') return got
        got.push((message[2] as { id: string }).id)
      }
    }
    const [a, b, c] = events.map((e) => e.id)
    const tie = [a, b].sort()
    expect(await ids({ '#t': ['x', 'y'] })).toEqual([c, ...tie])
    expect(await ids({ '#t': ['x'], '#p': ['q'] })).toEqual([c])
    expect(await ids({ '#t': ['x', 'y'], limit: 2 })).toEqual([c, tie[0]])
    expect(await ids({ '#t': ['x', 'y'], until: t })).toEqual(tie)
    expect(await ids({ '#t': ['x', 'y'], since: t + 1 })).toEqual([c])
  })
})
