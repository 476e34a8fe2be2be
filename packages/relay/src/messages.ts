// Shape checks for client messages. @nostr-relay/core trusts its input ("validate the message
// before calling handleMessage"), so nothing reaches it that has not passed through here.

import type { Event, Filter } from '@nostr-relay/common'
import { validateEvent } from 'nostr-tools/pure'
import { RelayError } from './errors.js'

export type ClientMessage =
  | { type: 'EVENT'; event: Event }
  | { type: 'REQ'; subscriptionId: string; filters: Filter[] }
  | { type: 'CLOSE'; subscriptionId: string }
  | { type: 'AUTH'; event: Event }

/** A refusal and where to report it: OK for an identifiable event, CLOSED for a subscription. */
export type Refusal =
  | { reply: 'OK'; eventId: string; error: RelayError }
  | { reply: 'CLOSED'; subscriptionId: string; error: RelayError }
  | { reply: 'NOTICE'; error: RelayError }

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; refusal: Refusal }

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/
const TAG_FILTER = /^#[a-zA-Z]$/
export const MAX_SUBSCRIPTION_ID = 64

function refuse(error: RelayError): ParseResult {
  return { ok: false, refusal: { reply: 'NOTICE', error } }
}

export function parseClientMessage(text: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return refuse(RelayError.MALFORMED_MESSAGE('message is not JSON'))
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string') {
    return refuse(RelayError.MALFORMED_MESSAGE('message is not an array starting with its type'))
  }
  const [type, ...rest] = value as [string, ...unknown[]]
  switch (type) {
    case 'EVENT':
    case 'AUTH':
      return parseEventMessage(type, rest)
    case 'REQ':
      return parseReq(rest)
    case 'CLOSE':
      if (rest.length !== 1 || !isSubscriptionId(rest[0])) {
        return refuse(RelayError.MALFORMED_MESSAGE('CLOSE takes one subscription id'))
      }
      return { ok: true, message: { type: 'CLOSE', subscriptionId: rest[0] } }
    default:
      return refuse(RelayError.UNSUPPORTED(`message type ${JSON.stringify(type.slice(0, 16))}`))
  }
}

function parseEventMessage(type: 'EVENT' | 'AUTH', rest: unknown[]): ParseResult {
  const event = rest[0]
  const why = rest.length !== 1 ? `${type} takes exactly one event` : eventProblem(event)
  if (why === null) return { ok: true, message: { type, event: event as Event } }
  const id = (event as { id?: unknown } | null)?.id
  const error = RelayError.MALFORMED_MESSAGE(why)
  if (typeof id === 'string' && HEX64.test(id)) return { ok: false, refusal: { reply: 'OK', eventId: id, error } }
  return refuse(error)
}

function eventProblem(event: unknown): string | null {
  if (!validateEvent(event)) return 'event fields are missing or have the wrong types'
  const e = event as unknown as Record<string, unknown>
  if (typeof e.id !== 'string' || !HEX64.test(e.id)) return 'event id is not 64 lowercase hex characters'
  if (typeof e.sig !== 'string' || !HEX128.test(e.sig)) return 'event sig is not 128 lowercase hex characters'
  if (!Number.isInteger(e.kind) || (e.kind as number) < 0 || (e.kind as number) > 65535) {
    return 'event kind is not an integer between 0 and 65535'
  }
  if (!Number.isSafeInteger(e.created_at) || (e.created_at as number) < 0) {
    return 'event created_at is not a non-negative integer'
  }
  return null
}

function parseReq(rest: unknown[]): ParseResult {
  const [subscriptionId, ...filters] = rest
  if (!isSubscriptionId(subscriptionId)) {
    return refuse(RelayError.MALFORMED_MESSAGE(`REQ needs a subscription id of 1 to ${MAX_SUBSCRIPTION_ID} characters`))
  }
  const closed = (why: string): ParseResult => ({
    ok: false,
    refusal: { reply: 'CLOSED', subscriptionId, error: RelayError.MALFORMED_MESSAGE(why) }
  })
  if (filters.length === 0) return closed('REQ needs at least one filter')
  for (const filter of filters) {
    const why = filterProblem(filter)
    if (why !== null) return closed(why)
  }
  return { ok: true, message: { type: 'REQ', subscriptionId, filters: filters as Filter[] } }
}

function isSubscriptionId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SUBSCRIPTION_ID
}

function filterProblem(filter: unknown): string | null {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return 'a filter is not an object'
  for (const [key, value] of Object.entries(filter)) {
    if (key === 'ids' || key === 'authors' || TAG_FILTER.test(key)) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        return `filter field ${key} must be an array of strings`
      }
    } else if (key === 'kinds') {
      if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 0 && v <= 65535)) {
        return 'filter field kinds must be an array of integers between 0 and 65535'
      }
    } else if (key === 'since' || key === 'until' || key === 'limit') {
      if (!Number.isSafeInteger(value) || (value as number) < 0) {
        return `filter field ${key} must be a non-negative integer`
      }
    } else if (key === 'search') {
      if (typeof value !== 'string') return 'filter field search must be a string'
    } else {
      return `filter field ${JSON.stringify(key.slice(0, 32))} is not supported`
    }
  }
  return null
}
