// Hostile review of @2020117/relay: each test is an attack a stranger can mount, and fails while
// the relay is open to it.

import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { generateSecretKey } from 'nostr-tools/pure'
import WebSocket from 'ws'
import { OPEN_POLICY, startRelay } from '../src/index.js'
import { cleanups, connect, now, query, rawClient, relay, sign, tempDir } from './helpers.js'

// A rate this slow refills nothing while a test runs.
const NO_REFILL = 0.0001

describe('review: rate limits', () => {
  it("a stranger replaying a victim's own published event does not drain the victim's pubkey bucket", async () => {
    const running = await relay({
      policy: OPEN_POLICY,
      limits: { eventsPerSecondPerPubkey: NO_REFILL, eventBurstPerPubkey: 3 }
    })
    const victim = generateSecretKey()
    const victimClient = await connect(running.url)
    const first = sign(victim, { kind: 1, content: 'hello' })
    await victimClient.publish(first)

    // The attacker holds no key of the victim's: it only resends what the relay broadcast.
    const attacker = await rawClient(running.url)
    for (let i = 0; i < 3; i++) attacker.ws.send(JSON.stringify(['EVENT', first]))
    for (let i = 0; i < 3; i++) await attacker.next()

    await expect(victimClient.publish(sign(victim, { kind: 1, content: 'my own second note' }))).resolves.toBeDefined()
  })
})

describe('review: bounds', () => {
  it('answers a filter with 40,000 authors with a CLOSED naming the bound, not an internal error', async () => {
    const running = await relay({ policy: OPEN_POLICY })
    const raw = await rawClient(running.url)
    // Empty strings: 40k of them fit in one 128 KiB message, beyond SQLite's 32,766 variables.
    const authors = new Array<string>(40_000).fill('')
    const message = JSON.stringify(['REQ', 'big', { authors }])
    expect(Buffer.byteLength(message)).toBeLessThan(128 * 1024)
    raw.ws.send(message)
    const reply = await raw.next()
    expect(reply).toEqual(['CLOSED', 'big', expect.stringMatching(/^invalid: /)])
  })

  it('does not hold a live subscription whose filter lists 20,000 values (memory and per-event matching cost)', async () => {
    const running = await relay({ policy: OPEN_POLICY })
    const raw = await rawClient(running.url)
    const ids = Array.from({ length: 20_000 }, (_, i) => i.toString(36))
    raw.ws.send(JSON.stringify(['REQ', 'wide', { '#e': ids }]))
    const reply = await raw.next()
    // Served and held (EOSE) means 20 such subscriptions per connection, 256 connections: ~5M
    // strings held and scanned for every broadcast event.
    expect(reply[0]).toBe('CLOSED')
  })

  it('does not broadcast fields a stranger added to a signed event (subscribers get what is stored)', async () => {
    const running = await relay({ policy: OPEN_POLICY })
    const reader = await rawClient(running.url)
    reader.ws.send(JSON.stringify(['REQ', 'live', { kinds: [1] }]))
    expect(await reader.next()).toEqual(['EOSE', 'live'])
    const writer = await rawClient(running.url)
    const event = sign(generateSecretKey(), { kind: 1, content: 'plain' })
    writer.ws.send(JSON.stringify(['EVENT', { ...event, injected: 'x'.repeat(30_000), relay_verified: true }]))
    expect(await writer.next()).toEqual(['OK', event.id, true, ''])
    const [, , delivered] = (await reader.next()) as [string, string, Record<string, unknown>]
    expect(Object.keys(delivered).sort()).toEqual(['content', 'created_at', 'id', 'kind', 'pubkey', 'sig', 'tags'])
  })
})

describe('review: retention', () => {
  it('does not let an event dated years ahead outlive the retention (refuse it, or prune it)', async () => {
    const dir = await tempDir()
    const db = join(dir, 'relay.sqlite')
    const policy = { ...OPEN_POLICY, retentionSeconds: 24 * 3600 }
    const first = await startRelay({ db, policy })
    const sk = generateSecretKey()
    const client = await connect(first.url)
    const future = sign(sk, { kind: 1, content: 'pinned forever', created_at: now() + 10 * 365 * 24 * 3600 })
    const accepted = await client.publish(future).then(
      () => true,
      () => false
    )
    client.close()
    await first.close()
    if (!accepted) return // refused at the door: fine
    // A relay whose sweep runs (at start) must still honour retention against its own clock: an
    // event from 10 years in the future is never "older than a day", so it is kept forever and
    // sorts above every honest event of its kind.
    const second = await startRelay({ db, policy })
    cleanups.push(() => second.close())
    const reader = await connect(second.url)
    const events = await query(reader, [{ kinds: [1], limit: 1 }])
    expect(events.map((e) => e.id)).not.toContain(future.id)
  })
})

describe('review: NIP-11 says what is enforced', () => {
  it('states the event size it refuses above', async () => {
    const running = await relay({ policy: OPEN_POLICY })
    const limitation = running.info.limitation as Record<string, unknown>
    // 64 KiB events are refused although max_message_length says 128 KiB messages are fine.
    expect(Object.values(limitation)).toContain(64 * 1024)
  })

  it("does not claim auth_required under 'writes' while it serves REQs without authentication", async () => {
    const running = await relay({ policy: { ...OPEN_POLICY, auth: 'writes' } })
    const raw = await rawClient(running.url)
    await raw.next() // the AUTH challenge
    raw.ws.send(JSON.stringify(['REQ', 'r', { kinds: [1] }]))
    const reply = await raw.next()
    const limitation = running.info.limitation as Record<string, unknown>
    // NIP-11: auth_required means authentication before *any* other action.
    const servedWithoutAuth = reply[0] === 'EOSE'
    expect(servedWithoutAuth && limitation.auth_required === true).toBe(false)
  })
})

describe('review: a client that never reads', () => {
  it('is cut off before the relay buffers more than 32 MiB of replies for it', async () => {
    const running = await relay({ policy: OPEN_POLICY })
    const writer = await connect(running.url)
    const sk = generateSecretKey()
    for (let i = 0; i < 40; i++) await writer.publish(sign(sk, { kind: 1, content: `${i}`.padEnd(60_000, 'x') }))

    // Watch the relay's own sockets (same process, same ws module): what each has queued.
    let maxBuffered = 0
    let eoses = 0
    const watched = new WeakSet<WebSocket>()
    let lastEose: () => void = () => undefined
    const done = new Promise<void>((resolve) => (lastEose = resolve))
    const original = WebSocket.prototype.send
    cleanups.push(() => (WebSocket.prototype.send = original))
    WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
      const self = this as WebSocket & { _isServer?: boolean }
      if (self._isServer) {
        maxBuffered = Math.max(maxBuffered, this.bufferedAmount)
        if (typeof data === 'string' && data.startsWith('["EOSE"') && ++eoses === 40) lastEose()
        if (!watched.has(this)) this.once('close', () => lastEose())
        watched.add(this)
      }
      return (original as (...args: unknown[]) => void).call(this, data, ...rest)
    } as typeof WebSocket.prototype.send

    const reader = await rawClient(running.url)
    // Stop reading: the kernel buffers fill, then everything queues in the relay's memory.
    ;(reader.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    for (let i = 0; i < 40; i++) reader.ws.send(JSON.stringify(['REQ', `r${i % 10}`, { kinds: [1] }]))
    await done
    // 40 REQs x 40 events x 60 KB = 96 MB; 100 REQs (the default burst) on 256 connections is 60 GB.
    expect(maxBuffered).toBeLessThan(32 * 1024 * 1024)
  })
})

describe('review: messages that are not events or REQs', () => {
  it('rate-limits a flood of malformed messages like any other message', async () => {
    const running = await relay({
      policy: OPEN_POLICY,
      limits: { eventsPerSecondPerConnection: NO_REFILL, eventBurstPerConnection: 5, reqBurstPerConnection: 5 }
    })
    const raw = await rawClient(running.url)
    // Each costs the relay a JSON.parse of up to 128 KiB and a NOTICE; none takes a token.
    for (let i = 0; i < 300; i++) raw.ws.send('["NOPE"]')
    raw.ws.send(JSON.stringify(['REQ', 'end', { limit: 0 }]))
    let notices = 0
    for (;;) {
      const message = await raw.next()
      if (message[1] === 'end') break
      if (message[0] === 'NOTICE') notices++
    }
    expect(notices).toBeLessThanOrEqual(10)
  })
})

describe('review: cheapest check first', () => {
  it('refuses an unmined job request by its id (pow:) before paying for a Schnorr verification', async () => {
    const running = await relay()
    const raw = await rawClient(running.url)
    const event = sign(generateSecretKey(), { kind: 5100, content: 'no work done' })
    // The id still matches the content (a hash is cheap); only the signature is garbage.
    raw.ws.send(JSON.stringify(['EVENT', { ...event, sig: '0'.repeat(128) }]))
    expect(await raw.next()).toEqual(['OK', event.id, false, expect.stringMatching(/^pow: /)])
  })
})
