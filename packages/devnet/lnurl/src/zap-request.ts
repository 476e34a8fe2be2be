// NIP-57 Appendix D: the checks an LNURL server makes on the zap request (kind 9734) a payer sends
// to its callback, before it issues an invoice that commits to it. The request comes from anyone:
// its size is bounded before it is parsed, every tag before it is read, and its signature is
// verified on a fresh copy of its seven fields.

import { verifyEvent, type Event } from 'nostr-tools/pure'
import { kinds } from '@2020117/protocol'
import { LnurlServerError } from './errors.js'

/** An honest zap request is well under 1 KiB (a few relays, a short comment). */
export const MAX_ZAP_REQUEST_BYTES = 16 * 1024
export const MAX_ZAP_REQUEST_TAGS = 64
/** Values in one tag: a `relays` tag lists relays, every other tag has one or two. */
export const MAX_TAG_VALUES = 32

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/
const COORDINATE = /^[0-9]{1,5}:[0-9a-f]{64}:.{0,256}$/s

/**
 * Parses and checks `json` (the callback's `nostr` parameter, exactly as received) for an invoice of
 * `amountMsat`. Returns the zap request; throws BAD_ZAP_REQUEST naming the first check that failed.
 */
export function checkZapRequest(json: string, amountMsat: number): Event {
  const refuse = LnurlServerError.BAD_ZAP_REQUEST
  if (Buffer.byteLength(json, 'utf8') > MAX_ZAP_REQUEST_BYTES)
    throw refuse(`it is over ${MAX_ZAP_REQUEST_BYTES / 1024} KiB`)
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    throw refuse('it is not JSON')
  }
  const event = readEvent(parsed)
  if (event.kind !== kinds.ZapRequest) throw refuse(`it is of kind ${event.kind}, not 9734`)
  if (!verifyEvent(event)) throw refuse('its id or signature does not verify')
  const p = values(event, 'p')
  if (p.length !== 1 || !HEX64.test(p[0] ?? '')) throw refuse('it must have exactly one p tag, a 64-hex pubkey')
  const e = values(event, 'e')
  if (e.length > 1 || (e.length === 1 && !HEX64.test(e[0] ?? ''))) throw refuse('it may have one e tag, an event id')
  const a = values(event, 'a')
  if (a.length > 1 || (a.length === 1 && !COORDINATE.test(a[0] ?? '')))
    throw refuse('it may have one a tag, a kind:pubkey:d coordinate')
  const sender = values(event, 'P')
  if (sender.length > 1 || (sender.length === 1 && sender[0] !== event.pubkey))
    throw refuse("it may have one P tag, the request's own pubkey")
  const amount = values(event, 'amount')
  if (amount.length > 1 || (amount.length === 1 && amount[0] !== String(amountMsat)))
    throw refuse(`its amount tag is not the amount asked for (${amountMsat} msat)`)
  return event
}

/** The value of every tag named `name` (a tag with no value reads as ''). */
function values(event: Event, name: string): string[] {
  return event.tags.filter((t) => t[0] === name).map((t) => t[1] ?? '')
}

/** Shape and bounds, into a fresh object that carries no cached verdict from nostr-tools. */
function readEvent(value: unknown): Event {
  const refuse = LnurlServerError.BAD_ZAP_REQUEST
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw refuse('it is not an event object')
  const { id, pubkey, created_at, kind, tags, content, sig } = value as Record<string, unknown>
  if (typeof id !== 'string' || !HEX64.test(id)) throw refuse('its id is not 64 hex')
  if (typeof pubkey !== 'string' || !HEX64.test(pubkey)) throw refuse('its pubkey is not 64 hex')
  if (typeof sig !== 'string' || !HEX128.test(sig)) throw refuse('its sig is not 128 hex')
  if (!Number.isSafeInteger(created_at) || !Number.isSafeInteger(kind)) throw refuse('created_at or kind is no integer')
  if (typeof content !== 'string') throw refuse('its content is not a string')
  if (!Array.isArray(tags) || tags.length === 0 || tags.length > MAX_ZAP_REQUEST_TAGS)
    throw refuse(`its tags must be a list of 1 to ${MAX_ZAP_REQUEST_TAGS}`)
  const wellFormed = (t: unknown) =>
    Array.isArray(t) && t.length > 0 && t.length <= MAX_TAG_VALUES && t.every((v) => typeof v === 'string')
  if (!tags.every(wellFormed)) throw refuse(`a tag is not a list of 1 to ${MAX_TAG_VALUES} strings`)
  return { id, pubkey, created_at, kind, tags, content, sig } as Event
}
