// What a message must pass before @nostr-relay/core sees it, cheapest check first: the
// connection's rate (before any signature work, so a flood costs the relay little), the bounds,
// the signature, NIP-42, the author's rate (after the signature: a forged pubkey must not drain
// someone else's bucket), the policy, NIP-40, NIP-09. Only the last one reads storage.

import type { Event, Filter } from '@nostr-relay/common'
import { EventDeletion } from 'nostr-tools/kinds'
import { verifyEvent } from 'nostr-tools/pure'
import { CLIENT_AUTH_KIND, MAX_AUTHED_PUBKEYS, authRefusal, namesPrivateKinds } from './auth.js'
import { RelayError } from './errors.js'
import type { Refusal } from './messages.js'
import { policyRefusal, type ResolvedPolicy } from './policy.js'
import type { BucketMap, TokenBucket } from './rate.js'
import { expirationOf, type SqliteEventRepository } from './repository.js'

export interface RelayLimits {
  /** Serialized size of one event. Default 64 KiB. */
  maxEventBytes: number
  /** Open subscriptions on one connection. Default 20. */
  maxSubscriptionsPerConnection: number
  /** Filters in one REQ. Default 10. */
  maxFiltersPerSubscription: number
  /** Concurrent WebSocket connections. Default 256. */
  maxConnections: number
  /** Size of one WebSocket message (ws maxPayload); a larger one closes the connection with 1009. Default 128 KiB. */
  maxMessageBytes: number
  /** Tags of one NIP-09 deletion (kind 5): each is a lookup and a tombstone. Default 200. */
  maxDeletionTags: number
  /** Token bucket of one author's events (and REQs of a connection authenticated as it). Default 10/s, burst 100. */
  eventsPerSecondPerPubkey: number
  eventBurstPerPubkey: number
  /** Token bucket of one connection's EVENT and AUTH messages. Default 20/s, burst 200. */
  eventsPerSecondPerConnection: number
  eventBurstPerConnection: number
  /** Token bucket of one connection's REQs. Default 10/s, burst 100. */
  reqsPerSecondPerConnection: number
  reqBurstPerConnection: number
}

/** What admission needs of the relay. */
export interface Gate {
  readonly limits: RelayLimits
  readonly policy: ResolvedPolicy
  readonly repository: SqliteEventRepository
  readonly pubkeyBuckets: BucketMap
  readonly publicUrl: string
}

/** What admission needs of one connection. */
export interface Peer {
  /** The NIP-42 challenge sent on connect; null when auth is off. */
  readonly challenge: string | null
  readonly authed: Set<string>
  readonly events: TokenBucket
  readonly reqs: TokenBucket
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export function admitEvent(gate: Gate, peer: Peer, event: Event): Refusal | null {
  const error = eventProblem(gate, peer, event)
  return error ? { reply: 'OK', eventId: event.id, error } : null
}

function eventProblem(gate: Gate, peer: Peer, event: Event): RelayError | null {
  const { limits, policy } = gate
  if (!peer.events.take()) {
    return RelayError.RATE_LIMITED(
      'events on this connection',
      limits.eventsPerSecondPerConnection,
      limits.eventBurstPerConnection
    )
  }
  const size = Buffer.byteLength(JSON.stringify(event))
  if (size > limits.maxEventBytes) return RelayError.EVENT_TOO_LARGE(size, limits.maxEventBytes)
  // The core checks signatures only after its duplicate lookup, so a forged copy of a stored
  // event would get "OK true, duplicate". Verify first, so a bad signature is always refused.
  if (!verifyEvent(event)) return RelayError.BAD_SIGNATURE()
  if (event.kind === CLIENT_AUTH_KIND) return RelayError.AUTH_AS_EVENT()
  if (event.kind === EventDeletion && event.tags.length > limits.maxDeletionTags) {
    return RelayError.TOO_MANY_TAGS('deletion', event.tags.length, limits.maxDeletionTags)
  }
  if (policy.auth !== 'off' && !peer.authed.has(event.pubkey)) {
    return peer.authed.size === 0 ? RelayError.AUTH_REQUIRED('publishing') : RelayError.AUTH_RESTRICTED(event.pubkey)
  }
  if (!gate.pubkeyBuckets.take(event.pubkey)) {
    return RelayError.RATE_LIMITED(
      'events from this pubkey',
      limits.eventsPerSecondPerPubkey,
      limits.eventBurstPerPubkey
    )
  }
  const refusal = policyRefusal(event, policy)
  if (refusal) return refusal
  const expiration = expirationOf(event)
  if (expiration !== null && expiration <= nowSeconds()) return RelayError.EXPIRED(expiration)
  // An event its author deleted is refused with a reason; the core would otherwise find it neither
  // stored nor a duplicate, and the repository would drop it behind an "OK true".
  if (gate.repository.isDeleted(event)) return RelayError.DELETED(event.id)
  return null
}

export function admitReq(gate: Gate, peer: Peer, subscriptionId: string, filters: Filter[]): Refusal | null {
  const error = reqProblem(gate, peer, filters)
  return error ? { reply: 'CLOSED', subscriptionId, error } : null
}

function reqProblem(gate: Gate, peer: Peer, filters: Filter[]): RelayError | null {
  const { limits } = gate
  if (filters.length > limits.maxFiltersPerSubscription) {
    return RelayError.TOO_MANY_FILTERS(filters.length, limits.maxFiltersPerSubscription)
  }
  if (!peer.reqs.take()) {
    return RelayError.RATE_LIMITED(
      'REQs on this connection',
      limits.reqsPerSecondPerConnection,
      limits.reqBurstPerConnection
    )
  }
  for (const pubkey of peer.authed) {
    if (!gate.pubkeyBuckets.take(pubkey)) {
      return RelayError.RATE_LIMITED(
        'messages from this pubkey',
        limits.eventsPerSecondPerPubkey,
        limits.eventBurstPerPubkey
      )
    }
  }
  // Under 'all' a REQ that names a NIP-47 kind needs a key to filter by; one that merely could
  // match them (no `kinds`) is served, and the broadcaster withholds what it may not read.
  if (gate.policy.auth === 'all' && peer.authed.size === 0 && filters.some(namesPrivateKinds)) {
    return RelayError.AUTH_REQUIRED('reading NIP-47 events (kinds 23194, 23195)')
  }
  return null
}

/** Answers an AUTH message: OK true and the pubkey joins the connection's set, or OK false and why. */
export function authenticate(gate: Gate, peer: Peer, event: Event): { ok: true } | { ok: false; error: RelayError } {
  const { limits } = gate
  if (!peer.events.take()) {
    const error = RelayError.RATE_LIMITED(
      'messages on this connection',
      limits.eventsPerSecondPerConnection,
      limits.eventBurstPerConnection
    )
    return { ok: false, error }
  }
  if (peer.challenge === null)
    return { ok: false, error: RelayError.UNSUPPORTED('NIP-42 AUTH (no challenge was sent)') }
  const error = authRefusal(event, peer.challenge, gate.publicUrl, nowSeconds())
  if (error) return { ok: false, error }
  if (!peer.authed.has(event.pubkey) && peer.authed.size >= MAX_AUTHED_PUBKEYS) {
    return {
      ok: false,
      error: RelayError.AUTH_INVALID(`this connection is already authenticated as ${MAX_AUTHED_PUBKEYS} pubkeys`)
    }
  }
  peer.authed.add(event.pubkey)
  return { ok: true }
}
