// Binding a provider's Hyperswarm key to its Nostr key (SPEC §7). The provider signs, with its
// Nostr key, a small event naming its swarm public key, and sends it in skill_response. The
// customer checks the signature and that the named key is the key the connection was made with
// (which Noise proved). A replayed proof names someone else's swarm key and fails the second check;
// a forged one fails the first.

import { finalizeEvent, verifyEvent, type Event } from 'nostr-tools/pure'
import * as nip19 from 'nostr-tools/nip19'
import { NostrError } from './errors.js'
import { kinds as KIND } from '@2020117/protocol'

export const SWARM_TAG = 'hyperswarm'

export function makeBinding(secretKey: Uint8Array, swarmKey: Uint8Array, kinds: number[]): string {
  const event = finalizeEvent(
    {
      kind: KIND.SwarmBinding,
      created_at: Math.floor(Date.now() / 1000),
      tags: [[SWARM_TAG, Buffer.from(swarmKey).toString('hex')], ...kinds.map((k) => ['k', String(k)])],
      content: ''
    },
    secretKey
  )
  return JSON.stringify(event)
}

/**
 * Verifies a binding against the connection's remote key; returns the provider's Nostr pubkey.
 * `expected` (hex pubkey) is the provider the customer asked for, if any.
 */
export function verifyBinding(identity: string | null, remoteSwarmKey: Uint8Array, expected: string | null): string {
  if (identity === null) {
    if (expected) throw NostrError.IDENTITY_MISSING(npubOf(expected))
    return ''
  }
  let event: Event
  try {
    event = JSON.parse(identity) as Event
  } catch {
    throw NostrError.IDENTITY_INVALID('not JSON')
  }
  if (event?.kind !== KIND.SwarmBinding || !Array.isArray(event.tags))
    throw NostrError.IDENTITY_INVALID(`not a kind ${KIND.SwarmBinding} event`)
  if (!verifyEvent(event)) throw NostrError.IDENTITY_INVALID('bad id or signature')
  const named = event.tags.find((t) => t[0] === SWARM_TAG)?.[1]
  if (named !== Buffer.from(remoteSwarmKey).toString('hex')) throw NostrError.IDENTITY_MISMATCH()
  if (expected && event.pubkey !== expected)
    throw NostrError.IDENTITY_WRONG_PROVIDER(npubOf(event.pubkey), npubOf(expected))
  return event.pubkey
}

/**
 * Every way a private key can show up in text: hex in both cases, its nsec, and the npub that a
 * mistake (the key passed where a public key belongs) would print. Loggers redact all of them.
 */
export function secretForms(privkeyHex: string): string[] {
  const hex = privkeyHex.toLowerCase()
  const bytes = new Uint8Array(Buffer.from(hex, 'hex'))
  return [hex, hex.toUpperCase(), nip19.nsecEncode(bytes), nip19.npubEncode(hex)]
}

/** Accepts npub1… or 64 hex digits; returns hex. */
export function parsePubkey(value: string): string {
  if (/^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase()
  try {
    const decoded = nip19.decode(value)
    if (decoded.type === 'npub') return decoded.data
  } catch {}
  throw NostrError.INVALID_PUBKEY(value)
}

export function npubOf(hex: string): string {
  try {
    return nip19.npubEncode(hex)
  } catch {
    return hex
  }
}
