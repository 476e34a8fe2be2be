import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent, type Event } from 'nostr-tools/pure'
import * as nip19 from 'nostr-tools/nip19'
import { makeBinding, npubOf, parsePubkey, SWARM_TAG, verifyBinding } from '../src/identity.js'
import { hex, nostrError } from './helpers.js'
import { kinds as KIND } from '@2020117/protocol'

function provider(): { sk: Uint8Array; pubkey: string; swarmKey: Uint8Array } {
  const sk = generateSecretKey()
  return { sk, pubkey: getPublicKey(sk), swarmKey: new Uint8Array(randomBytes(32)) }
}

/** A binding with one field changed after signing. */
function tampered(binding: string, change: (e: Event) => void): string {
  const event = JSON.parse(binding) as Event
  change(event)
  return JSON.stringify(event)
}

/** Flips the last hex digit of a hex string. */
const flip = (h: string): string => h.slice(0, -1) + (h.endsWith('0') ? '1' : '0')

describe('makeBinding', () => {
  test('a kind 20117 event signed by the Nostr key, naming the swarm key and the kinds, content empty', () => {
    const p = provider()
    const event = JSON.parse(makeBinding(p.sk, p.swarmKey, [5200, 5100])) as Event
    expect(event.kind).toBe(KIND.SwarmBinding)
    expect(KIND.SwarmBinding).toBe(20117)
    expect(event.pubkey).toBe(p.pubkey)
    expect(event.content).toBe('')
    expect(event.tags).toContainEqual([SWARM_TAG, hex(p.swarmKey)])
    expect(event.tags.filter((t) => t[0] === 'k')).toEqual([
      ['k', '5200'],
      ['k', '5100']
    ])
    expect(verifyEvent(event)).toBe(true)
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(4096)
  })
})

describe('verifyBinding', () => {
  test('a genuine binding on its own connection returns the provider pubkey, with or without an expected key', () => {
    const p = provider()
    const binding = makeBinding(p.sk, p.swarmKey, [5200])
    expect(verifyBinding(binding, p.swarmKey, p.pubkey)).toBe(p.pubkey)
    expect(verifyBinding(binding, p.swarmKey, null)).toBe(p.pubkey)
  })

  test('no identity: IDENTITY_MISSING when a provider was asked for, else the empty string', async () => {
    const p = provider()
    const err = await nostrError(() => verifyBinding(null, p.swarmKey, p.pubkey), 'IDENTITY_MISSING')
    expect(err.message).toContain(nip19.npubEncode(p.pubkey))
    expect(verifyBinding(null, p.swarmKey, null)).toBe('')
  })

  test('a tampered signature is IDENTITY_INVALID', async () => {
    const p = provider()
    const bad = tampered(makeBinding(p.sk, p.swarmKey, [5200]), (e) => {
      e.sig = flip(e.sig)
    })
    await nostrError(() => verifyBinding(bad, p.swarmKey, p.pubkey), 'IDENTITY_INVALID')
    await nostrError(() => verifyBinding(bad, p.swarmKey, null), 'IDENTITY_INVALID')
  })

  test('a tampered id is IDENTITY_INVALID', async () => {
    const p = provider()
    const bad = tampered(makeBinding(p.sk, p.swarmKey, [5200]), (e) => {
      e.id = flip(e.id)
    })
    await nostrError(() => verifyBinding(bad, p.swarmKey, p.pubkey), 'IDENTITY_INVALID')
  })

  test('an impostor rewriting the swarm tag of a genuine proof to its own key is IDENTITY_INVALID', async () => {
    const victim = provider()
    const impostorSwarm = new Uint8Array(randomBytes(32))
    const forged = tampered(makeBinding(victim.sk, victim.swarmKey, [5200]), (e) => {
      e.tags = e.tags.map((t) => (t[0] === SWARM_TAG ? [SWARM_TAG, hex(impostorSwarm)] : t))
    })
    await nostrError(() => verifyBinding(forged, impostorSwarm, victim.pubkey), 'IDENTITY_INVALID')
  })

  test('a proof signed by someone else but claiming the provider pubkey is IDENTITY_INVALID', async () => {
    const victim = provider()
    const impostor = provider()
    const forged = tampered(makeBinding(impostor.sk, impostor.swarmKey, [5200]), (e) => {
      e.pubkey = victim.pubkey
    })
    await nostrError(() => verifyBinding(forged, impostor.swarmKey, victim.pubkey), 'IDENTITY_INVALID')
  })

  test('a correctly signed event of another kind is IDENTITY_INVALID', async () => {
    const p = provider()
    for (const kind of [1, 20118, 30333]) {
      const event = finalizeEvent(
        { kind, created_at: Math.floor(Date.now() / 1000), tags: [[SWARM_TAG, hex(p.swarmKey)]], content: '' },
        p.sk
      )
      await nostrError(() => verifyBinding(JSON.stringify(event), p.swarmKey, p.pubkey), 'IDENTITY_INVALID')
    }
  })

  test('not JSON, or JSON that is not an event, is IDENTITY_INVALID', async () => {
    const p = provider()
    for (const text of [
      '',
      'not json',
      '{"kind":',
      'null',
      '42',
      '"x"',
      '[]',
      '{}',
      JSON.stringify({ kind: KIND.SwarmBinding })
    ]) {
      await nostrError(() => verifyBinding(text, p.swarmKey, p.pubkey), 'IDENTITY_INVALID')
    }
  })

  test('a genuine proof replayed on another connection (another swarm key) is IDENTITY_MISMATCH', async () => {
    const victim = provider()
    const binding = makeBinding(victim.sk, victim.swarmKey, [5200])
    const impostorSwarm = new Uint8Array(randomBytes(32))
    await nostrError(() => verifyBinding(binding, impostorSwarm, victim.pubkey), 'IDENTITY_MISMATCH')
    await nostrError(() => verifyBinding(binding, impostorSwarm, null), 'IDENTITY_MISMATCH')
  })

  test('a signed binding without a hyperswarm tag is IDENTITY_MISMATCH', async () => {
    const p = provider()
    const event = finalizeEvent(
      { kind: KIND.SwarmBinding, created_at: Math.floor(Date.now() / 1000), tags: [['k', '5200']], content: '' },
      p.sk
    )
    await nostrError(() => verifyBinding(JSON.stringify(event), p.swarmKey, p.pubkey), 'IDENTITY_MISMATCH')
  })

  test('a valid proof from another provider than the one asked for is IDENTITY_WRONG_PROVIDER', async () => {
    const asked = provider()
    const other = provider()
    const binding = makeBinding(other.sk, other.swarmKey, [5200])
    const err = await nostrError(() => verifyBinding(binding, other.swarmKey, asked.pubkey), 'IDENTITY_WRONG_PROVIDER')
    expect(err.message).toContain(nip19.npubEncode(other.pubkey))
    expect(err.message).toContain(nip19.npubEncode(asked.pubkey))
  })
})

describe('parsePubkey', () => {
  const sk = generateSecretKey()
  const pubkey = getPublicKey(sk)
  const npub = nip19.npubEncode(pubkey)

  test('accepts hex in any case and returns lower-case hex', () => {
    expect(parsePubkey(pubkey)).toBe(pubkey)
    expect(parsePubkey(pubkey.toUpperCase())).toBe(pubkey)
    const mixed = [...pubkey].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('')
    expect(parsePubkey(mixed)).toBe(pubkey)
  })

  test('accepts an npub, in lower or upper case', () => {
    expect(parsePubkey(npub)).toBe(pubkey)
    expect(parsePubkey(npub.toUpperCase())).toBe(pubkey)
  })

  test('refuses garbage, nsec, note, and near-miss hex with INVALID_PUBKEY', async () => {
    const refused = [
      '',
      'garbage',
      pubkey.slice(1),
      pubkey + '0',
      'g' + pubkey.slice(1),
      ` ${pubkey}`,
      nip19.nsecEncode(sk),
      nip19.noteEncode(pubkey),
      npub.slice(0, -1) + (npub.endsWith('q') ? 'p' : 'q'),
      'npub1'
    ]
    for (const value of refused) {
      await nostrError(() => parsePubkey(value), 'INVALID_PUBKEY')
    }
  })

  test('the INVALID_PUBKEY message never echoes more than 80 characters of the input (an nsec is not repeated whole)', async () => {
    const nsec = nip19.nsecEncode(sk)
    const err = await nostrError(() => parsePubkey(nsec + 'x'.repeat(200)), 'INVALID_PUBKEY')
    expect(err.message).not.toContain('x'.repeat(81))
  })
})

describe('npubOf', () => {
  test('round-trips with nostr-tools nip19', () => {
    for (let i = 0; i < 5; i++) {
      const pubkey = getPublicKey(generateSecretKey())
      const npub = npubOf(pubkey)
      expect(npub).toBe(nip19.npubEncode(pubkey))
      expect(npub.startsWith('npub1')).toBe(true)
      const decoded = nip19.decode(npub)
      expect(decoded.type).toBe('npub')
      expect(decoded.data).toBe(pubkey)
      expect(parsePubkey(npub)).toBe(pubkey)
    }
  })

  test('returns its input unchanged when it is not a pubkey', () => {
    expect(npubOf('not-hex')).toBe('not-hex')
  })
})
