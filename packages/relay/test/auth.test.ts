import { describe, expect, it } from 'vitest'
import { generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { OPEN_POLICY, type AuthMode } from '../src/index.js'
import { now, query, connect, rawClient, relay, sign } from './helpers.js'

type Raw = Awaited<ReturnType<typeof rawClient>>

function authEvent(sk: Uint8Array, challenge: string, relayUrl: string, created_at = now()): Event {
  return sign(sk, {
    kind: 22242,
    created_at,
    tags: [
      ['relay', relayUrl],
      ['challenge', challenge]
    ]
  })
}

async function challengeOf(raw: Raw): Promise<string> {
  const [type, challenge] = await raw.next()
  expect(type).toBe('AUTH')
  return challenge as string
}

/** A raw client that has answered the challenge as each of `keys`. */
async function authedClient(url: string, ...keys: Uint8Array[]): Promise<Raw> {
  const raw = await rawClient(url)
  const challenge = await challengeOf(raw)
  for (const sk of keys) {
    const event = authEvent(sk, challenge, url)
    raw.ws.send(JSON.stringify(['AUTH', event]))
    expect(await raw.next()).toEqual(['OK', event.id, true, ''])
  }
  return raw
}

function auth(mode: AuthMode, publicUrl?: string) {
  return relay({ policy: { ...OPEN_POLICY, auth: mode }, ...(publicUrl ? { publicUrl } : {}) })
}

describe('NIP-42 authentication', () => {
  it('sends a fresh 32-byte challenge to each connection when auth is on, none when off', async () => {
    const running = await auth('writes')
    const [a, b] = [await challengeOf(await rawClient(running.url)), await challengeOf(await rawClient(running.url))]
    expect(a).toMatch(/^[0-9a-f]{64}$/)
    expect(b).not.toBe(a)

    const open = await auth('off')
    const raw = await rawClient(open.url)
    raw.ws.send(JSON.stringify(['REQ', 's', { kinds: [1] }]))
    expect(await raw.next()).toEqual(['EOSE', 's'])
    const stray = authEvent(generateSecretKey(), 'whatever', open.url)
    raw.ws.send(JSON.stringify(['AUTH', stray]))
    expect(await raw.next()).toEqual(['OK', stray.id, false, expect.stringMatching(/^blocked: NIP-42/)])
  })

  it("with 'writes', refuses an EVENT before AUTH with auth-required: and accepts it after", async () => {
    const running = await auth('writes')
    const raw = await rawClient(running.url)
    const challenge = await challengeOf(raw)
    const sk = generateSecretKey()
    const note = sign(sk, { kind: 1, content: 'hello' })
    raw.ws.send(JSON.stringify(['EVENT', note]))
    expect(await raw.next()).toEqual(['OK', note.id, false, expect.stringMatching(/^auth-required: /)])

    const proof = authEvent(sk, challenge, running.url)
    raw.ws.send(JSON.stringify(['AUTH', proof]))
    expect(await raw.next()).toEqual(['OK', proof.id, true, ''])
    raw.ws.send(JSON.stringify(['EVENT', note]))
    expect(await raw.next()).toEqual(['OK', note.id, true, ''])
    // Reads of ordinary kinds need no authentication.
    expect(await query(await connect(running.url), [{ ids: [note.id] }])).toEqual([note])
  })

  it('refuses an event of another author with restricted:, until the connection authenticates as it too', async () => {
    const running = await auth('writes')
    const [agent, wallet] = [generateSecretKey(), generateSecretKey()]
    const raw = await authedClient(running.url, agent)
    const walletInfo = sign(wallet, { kind: 13194, content: 'pay_invoice' })
    raw.ws.send(JSON.stringify(['EVENT', walletInfo]))
    expect(await raw.next()).toEqual(['OK', walletInfo.id, false, expect.stringMatching(/^restricted: /)])

    // Another connection's challenge does not authenticate this one.
    const otherChallenge = await challengeOf(await rawClient(running.url))
    const wrongConnection = authEvent(wallet, otherChallenge, running.url)
    raw.ws.send(JSON.stringify(['AUTH', wrongConnection]))
    expect(await raw.next()).toEqual(['OK', wrongConnection.id, false, expect.stringMatching(/^invalid: .*challenge/)])
  })

  it('lets one connection authenticate as several pubkeys', async () => {
    const running = await auth('writes')
    const [agent, wallet] = [generateSecretKey(), generateSecretKey()]
    const raw = await authedClient(running.url, agent, wallet)
    for (const sk of [agent, wallet]) {
      const event = sign(sk, { kind: 7000 })
      raw.ws.send(JSON.stringify(['EVENT', event]))
      expect(await raw.next()).toEqual(['OK', event.id, true, ''])
    }
  })

  it('checks the relay tag against publicUrl, ignoring a trailing slash and the case of the host', async () => {
    const running = await auth('writes', 'wss://relay.example.org')
    const raw = await rawClient(running.url)
    const challenge = await challengeOf(raw)
    const sk = generateSecretKey()
    const bound = authEvent(sk, challenge, running.url)
    raw.ws.send(JSON.stringify(['AUTH', bound]))
    expect(await raw.next()).toEqual(['OK', bound.id, false, expect.stringMatching(/^invalid: .*relay tag/)])
    const spelled = authEvent(sk, challenge, 'wss://Relay.EXAMPLE.org/')
    raw.ws.send(JSON.stringify(['AUTH', spelled]))
    expect(await raw.next()).toEqual(['OK', spelled.id, true, ''])
  })

  it('refuses an AUTH with the wrong kind, an old created_at or a bad signature with invalid:', async () => {
    const running = await auth('writes')
    const raw = await rawClient(running.url)
    const challenge = await challengeOf(raw)
    const sk = generateSecretKey()
    const wrongKind = sign(sk, {
      kind: 1,
      tags: [
        ['relay', running.url],
        ['challenge', challenge]
      ]
    })
    const stale = authEvent(sk, challenge, running.url, now() - 11 * 60)
    const good = authEvent(sk, challenge, running.url)
    const forged = { ...good, sig: good.sig.slice(0, -1) + (good.sig.endsWith('0') ? '1' : '0') }
    for (const [event, why] of [
      [wrongKind, /kind 1 is not 22242/],
      [stale, /10 minutes/],
      [forged, /signature/]
    ] as const) {
      raw.ws.send(JSON.stringify(['AUTH', event]))
      const [type, id, ok, reason] = await raw.next()
      expect([type, id, ok]).toEqual(['OK', event.id, false])
      expect(reason).toMatch(/^invalid: /)
      expect(reason).toMatch(why)
    }
    // None of them authenticated the connection.
    const note = sign(sk, { kind: 1 })
    raw.ws.send(JSON.stringify(['EVENT', note]))
    expect(await raw.next()).toEqual(['OK', note.id, false, expect.stringMatching(/^auth-required: /)])
  })

  it('never stores or broadcasts a 22242, and refuses one sent as an EVENT with invalid:', async () => {
    const running = await auth('writes')
    const sk = generateSecretKey()
    const watcher = await rawClient(running.url)
    await challengeOf(watcher)
    watcher.ws.send(JSON.stringify(['REQ', 'w', { kinds: [22242, 7000] }]))
    expect(await watcher.next()).toEqual(['EOSE', 'w'])

    const raw = await authedClient(running.url, sk)
    const asEvent = authEvent(sk, 'x', running.url)
    raw.ws.send(JSON.stringify(['EVENT', asEvent]))
    expect(await raw.next()).toEqual(['OK', asEvent.id, false, expect.stringMatching(/^invalid: kind 22242/)])
    const after = sign(sk, { kind: 7000 })
    raw.ws.send(JSON.stringify(['EVENT', after]))
    expect(await raw.next()).toEqual(['OK', after.id, true, ''])
    // Had the AUTH event been broadcast it would have come first.
    expect(await watcher.next()).toEqual(['EVENT', 'w', after])
    expect(await query(await connect(running.url), [{ kinds: [22242] }])).toEqual([])
  })

  it("with 'all', serves NIP-47 events only to their author and p, and closes an unauthenticated REQ for them", async () => {
    const running = await auth('all')
    const [client, wallet, stranger] = [generateSecretKey(), generateSecretKey(), generateSecretKey()]
    const unauthed = await rawClient(running.url)
    await challengeOf(unauthed)
    unauthed.ws.send(JSON.stringify(['REQ', 'nwc', { kinds: [23194] }]))
    expect(await unauthed.next()).toEqual(['CLOSED', 'nwc', expect.stringMatching(/^auth-required: /)])
    // A filter that only could match them is served, without them.
    unauthed.ws.send(JSON.stringify(['REQ', 'any', {}]))
    expect(await unauthed.next()).toEqual(['EOSE', 'any'])

    const walletSide = await authedClient(running.url, wallet)
    const strangerSide = await authedClient(running.url, stranger)
    for (const raw of [walletSide, strangerSide]) {
      raw.ws.send(JSON.stringify(['REQ', 'nwc', { kinds: [23194, 23195, 7000] }]))
      expect(await raw.next()).toEqual(['EOSE', 'nwc'])
    }
    const clientSide = await authedClient(running.url, client)
    const request = sign(client, { kind: 23194, tags: [['p', getPublicKey(wallet)]], content: 'encrypted' })
    const marker = sign(client, { kind: 7000, content: 'public' })
    for (const event of [request, marker]) {
      clientSide.ws.send(JSON.stringify(['EVENT', event]))
      expect(await clientSide.next()).toEqual(['OK', event.id, true, ''])
    }
    expect(await walletSide.next()).toEqual(['EVENT', 'nwc', request])
    expect(await walletSide.next()).toEqual(['EVENT', 'nwc', marker])
    // The stranger and the unauthenticated connection see the public event first and only.
    expect(await strangerSide.next()).toEqual(['EVENT', 'nwc', marker])
    expect(await unauthed.next()).toEqual(['EVENT', 'any', marker])
  })
})
