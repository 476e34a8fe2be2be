// NIP-42 (SPEC §12.5), done here rather than by @nostr-relay/core: the core's version (enabled by
// its `domain` option) keeps one pubkey per connection, compares only the relay URL's hostname,
// uses a UUID as the challenge, and restricts reads of kind 4 DMs, not of NIP-47's 23194/23195.
// A connection here may authenticate as several pubkeys (an agent's own key and its NWC key).

import { randomBytes } from 'node:crypto'
import type { Event, Filter } from '@nostr-relay/common'
import { verifyEvent } from 'nostr-tools/pure'
import { RelayError } from './errors.js'

export const CLIENT_AUTH_KIND = 22242
/** NIP-42: the relay should accept an AUTH event within about ten minutes of its clock. */
export const AUTH_MAX_SKEW_SECONDS = 10 * 60
/** Pubkeys one connection may authenticate as: each is a set entry per connection. */
export const MAX_AUTHED_PUBKEYS = 16
/** The NIP-47 request and response kinds, whose reads 'all' restricts to their parties. */
export const PRIVATE_KINDS: readonly number[] = Object.freeze([23194, 23195])

/** A fresh challenge: 32 random bytes in hex, one per connection. */
export function newChallenge(): string {
  return randomBytes(32).toString('hex')
}

/** A relay URL in the form two spellings of one relay share: lowercase host, no trailing slash. */
export function normaliseRelayUrl(url: string): string | null {
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return null
    const path = parsed.pathname.replace(/\/+$/, '')
    return `${parsed.protocol}//${parsed.host}${path}${parsed.search}`
  } catch {
    return null
  }
}

function tagValue(event: Event, name: string): string | undefined {
  const tag = event.tags.find((t) => t[0] === name)
  return typeof tag?.[1] === 'string' ? tag[1] : undefined
}

/** Why this AUTH event does not authenticate its pubkey on this connection, or null when it does. */
export function authRefusal(event: Event, challenge: string, relayUrl: string, nowSeconds: number): RelayError | null {
  if (event.kind !== CLIENT_AUTH_KIND) return RelayError.AUTH_INVALID(`kind ${event.kind} is not 22242`)
  if (tagValue(event, 'challenge') !== challenge) {
    return RelayError.AUTH_INVALID("its challenge tag is not this connection's challenge")
  }
  const relay = tagValue(event, 'relay')
  if (relay === undefined || normaliseRelayUrl(relay) !== normaliseRelayUrl(relayUrl)) {
    return RelayError.AUTH_INVALID(`its relay tag is not ${relayUrl}`)
  }
  if (Math.abs(event.created_at - nowSeconds) > AUTH_MAX_SKEW_SECONDS) {
    return RelayError.AUTH_INVALID('its created_at is more than 10 minutes from the relay clock')
  }
  if (!verifyEvent(event)) return RelayError.AUTH_INVALID('its id or signature does not verify')
  return null
}

/** Whether a filter names a NIP-47 kind outright: such a REQ from an unauthenticated connection is closed. */
export function namesPrivateKinds(filter: Filter): boolean {
  return filter.kinds !== undefined && filter.kinds.some((kind) => PRIVATE_KINDS.includes(kind))
}

/** Under 'all': whether a connection authenticated as `authed` may see this event. */
export function mayRead(event: Event, authed: ReadonlySet<string>): boolean {
  if (!PRIVATE_KINDS.includes(event.kind)) return true
  if (authed.has(event.pubkey)) return true
  return event.tags.some((tag) => tag[0] === 'p' && typeof tag[1] === 'string' && authed.has(tag[1]))
}
