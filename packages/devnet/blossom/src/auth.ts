// BUD-01 authorization for an upload: `Authorization: Nostr <base64 event>`, where the event is a
// validly signed kind 24242 with `t`=upload, an `expiration` in the future, a `created_at` not in
// the future, and (checked once the body is hashed) an `x` tag equal to the body's sha256.
// The header is bounded before it is decoded; base64 and base64url (what blossom-client-sdk
// sends) are both accepted.

import { verifyEvent, type Event } from 'nostr-tools/pure'
import { BlossomServerError } from './errors.js'

export const BLOSSOM_AUTH_KIND = 24242
const MAX_HEADER_BYTES = 8 * 1024
// Clocks on one machine agree; a little slack still lets a client sign just before the second ticks.
const CLOCK_SLACK_SECONDS = 60

/** Checks everything but the `x` tag; returns the event so the caller can check that after hashing. */
export function checkUploadAuth(header: string | undefined, now = Math.floor(Date.now() / 1000)): Event {
  if (!header) throw BlossomServerError.AUTH_MISSING()
  if (header.length > MAX_HEADER_BYTES) throw BlossomServerError.AUTH_INVALID(`header over ${MAX_HEADER_BYTES} bytes`)
  const match = /^Nostr ([A-Za-z0-9+/_-]+={0,2})$/.exec(header.trim())
  if (!match) throw BlossomServerError.AUTH_INVALID('the header must be "Nostr " and a base64 event')
  const event = parseEvent(Buffer.from(match[1]!, 'base64').toString('utf8'))
  if (!verifies(event)) throw BlossomServerError.AUTH_INVALID('its id or signature does not verify: sign it')
  if (event.kind !== BLOSSOM_AUTH_KIND) throw BlossomServerError.AUTH_INVALID(`kind ${event.kind} is not 24242`)
  if (tagValues(event, 't')[0] !== 'upload') throw BlossomServerError.AUTH_INVALID('its t tag is not "upload"')
  if (event.created_at > now + CLOCK_SLACK_SECONDS) throw BlossomServerError.AUTH_INVALID('created_at is in the future')
  const expiration = Number(tagValues(event, 'expiration')[0])
  if (!Number.isSafeInteger(expiration) || expiration <= now) throw BlossomServerError.AUTH_EXPIRED()
  return event
}

/** The `x` check, once the body's hash is known. */
export function checkAuthorizedBlob(event: Event, sha256: string): void {
  if (!tagValues(event, 'x').includes(sha256)) throw BlossomServerError.AUTH_MISMATCH(sha256)
}

function verifies(event: Event): boolean {
  try {
    return verifyEvent(event)
  } catch {
    // A malformed event (a tag that is not a string array) makes serialisation throw.
    return false
  }
}

function parseEvent(json: string): Event {
  try {
    const value = JSON.parse(json) as Event
    if (value && typeof value === 'object' && Array.isArray(value.tags)) return value
  } catch {
    // fall through
  }
  throw BlossomServerError.AUTH_INVALID('the header does not decode to a JSON Nostr event')
}

function tagValues(event: Event, name: string): string[] {
  return event.tags.filter((t) => Array.isArray(t) && t[0] === name && typeof t[1] === 'string').map((t) => t[1]!)
}
