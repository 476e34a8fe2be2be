// What a message must pass before @nostr-relay/core sees it, cheapest check first: the
// connection's rate, the bounds, the id (a hash), the clock, the policy (kinds, writers, proof of
// work committed in the id), NIP-40, and only then the Schnorr signature, so an unmined or
// oversized flood costs the relay a hash per event. After the signature: NIP-42, and the author's
// rate, taken only for an event that is new (a forged pubkey, or a replay of an event the author
// already published, must not drain the author's bucket). Storage is read last.

import type { Event, Filter } from '@nostr-relay/common'
import { EventDeletion } from 'nostr-tools/kinds'
import { getEventHash, verifyEvent } from 'nostr-tools/pure'
import { CLIENT_AUTH_KIND, MAX_AUTHED_PUBKEYS, authRefusal, namesPrivateKinds } from './auth.js'
import { RelayError } from './errors.js'
import type { Refusal } from './messages.js'
import { policyRefusal, type ResolvedPolicy } from './policy.js'
import type { BucketMap, RecentSet, TokenBucket } from './rate.js'
import { classifyKind, expirationOf, type SqliteEventRepository } from './repository.js'

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
  /** Token bucket of one connection's EVENT and AUTH messages, and of every message that is not a
   *  REQ (CLOSE, unknown types, unparseable ones). Default 20/s, burst 200. */
  eventsPerSecondPerConnection: number
  eventBurstPerConnection: number
  /** Token bucket of one connection's REQs. Default 10/s, burst 100. */
  reqsPerSecondPerConnection: number
  reqBurstPerConnection: number
  /** Concurrent connections from one IP address; loopback addresses are exempt. Default 32. */
  maxConnectionsPerAddress: number
  /** Replies queued for a connection that does not read them; above this it is cut off. Default 8 MiB. */
  maxBufferedBytes: number
}

/** What admission needs of the relay. */
export interface Gate {
  readonly limits: RelayLimits
  readonly policy: ResolvedPolicy
  readonly repository: SqliteEventRepository
  readonly pubkeyBuckets: BucketMap
  /** Ids of ephemeral events already seen: they are never stored, so storage cannot say. */
  readonly recentEphemeral: RecentSet
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

/** How far ahead of the relay's clock an event may be dated (NIP-11 created_at_upper_limit). */
export const MAX_FUTURE_SECONDS = 15 * 60

/** An event admission has nothing against that the relay has already seen: OK true, duplicate. */
export type EventVerdict = Refusal | { reply: 'DUPLICATE'; eventId: string } | null

export function admitEvent(gate: Gate, peer: Peer, event: Event): EventVerdict {
  const error = unsignedProblem(gate, peer, event) ?? signedProblem(gate, peer, event)
  if (error) return { reply: 'OK', eventId: event.id, error }
  return freshness(gate, event)
}

// What needs no signature to judge: the event's own hash commits to all of it but the sig.
function unsignedProblem(gate: Gate, peer: Peer, event: Event): RelayError | null {
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
  if (getEventHash(event) !== event.id) return RelayError.BAD_SIGNATURE()
  const now = nowSeconds()
  if (event.created_at > now + MAX_FUTURE_SECONDS)
    return RelayError.CREATED_IN_FUTURE(event.created_at, MAX_FUTURE_SECONDS)
  if (event.kind === CLIENT_AUTH_KIND) return RelayError.AUTH_AS_EVENT()
  if (event.kind === EventDeletion && event.tags.length > limits.maxDeletionTags) {
    return RelayError.TOO_MANY_TAGS('deletion', event.tags.length, limits.maxDeletionTags)
  }
  const refusal = policyRefusal(event, policy)
  if (refusal) return refusal
  const expiration = expirationOf(event)
  if (expiration !== null && expiration <= now) return RelayError.EXPIRED(expiration)
  return null
}

function signedProblem(gate: Gate, peer: Peer, event: Event): RelayError | null {
  // The core checks signatures only after its duplicate lookup, so a forged copy of a stored
  // event would get "OK true, duplicate". Verify first, so a bad signature is always refused.
  if (!verifyEvent(event)) return RelayError.BAD_SIGNATURE()
  if (gate.policy.auth !== 'off' && !peer.authed.has(event.pubkey)) {
    return peer.authed.size === 0 ? RelayError.AUTH_REQUIRED('publishing') : RelayError.AUTH_RESTRICTED(event.pubkey)
  }
  // An event its author deleted is refused with a reason; the core would otherwise find it neither
  // stored nor a duplicate, and the repository would drop it behind an "OK true".
  if (gate.repository.isDeleted(event)) return RelayError.DELETED(event.id)
  return null
}

// Anyone can resend an event the relay broadcast. Only a new one costs its author a token; a
// known one goes to the core, which answers "duplicate" (a seen ephemeral one is answered here,
// so that it is not broadcast twice).
function freshness(gate: Gate, event: Event): EventVerdict {
  const ephemeral = classifyKind(event.kind) === 'ephemeral'
  if (ephemeral && gate.recentEphemeral.has(event.id)) return { reply: 'DUPLICATE', eventId: event.id }
  if (!ephemeral && gate.repository.isKnown(event)) return null
  if (!gate.pubkeyBuckets.take(event.pubkey)) {
    const { limits } = gate
    const error = RelayError.RATE_LIMITED(
      'events from this pubkey',
      limits.eventsPerSecondPerPubkey,
      limits.eventBurstPerPubkey
    )
    return { reply: 'OK', eventId: event.id, error }
  }
  if (ephemeral) gate.recentEphemeral.add(event.id)
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
