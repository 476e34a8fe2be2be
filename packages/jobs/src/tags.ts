// Reading the tags of a job event that a stranger signed: every count and length bounded before
// anything is kept, every number checked to be a whole number of msat, every key a 64-hex pubkey.

import { MAX_JOB_EVENT_BYTES, MAX_JOB_TAGS } from '@2020117/protocol'
import { verifyEvent, type Event } from 'nostr-tools/pure'
import { JobError } from './errors.js'

export type Tag = string[]

const HEX64 = /^[0-9a-f]{64}$/
const MSAT = /^(0|[1-9][0-9]{0,17})$/

/** The checks every incoming job event gets first: its size, its id and signature, its tag shapes. */
export function checkEvent(event: Event): void {
  if (event === null || typeof event !== 'object') throw JobError.INVALID_EVENT('not an object')
  let size: number
  try {
    size = Buffer.byteLength(JSON.stringify(event))
  } catch {
    throw JobError.INVALID_EVENT('not serialisable')
  }
  if (size > MAX_JOB_EVENT_BYTES) throw JobError.LIMIT_EXCEEDED('the event', MAX_JOB_EVENT_BYTES)
  if (!Array.isArray(event.tags)) throw JobError.INVALID_EVENT('tags are not a list')
  checkTags(event.tags)
  if (typeof event.content !== 'string') throw JobError.INVALID_EVENT('content is not a string')
  // verifyEvent caches its answer on the object under a symbol, which a spread copy keeps: an event
  // changed after it was verified once would pass. A fresh object of the seven fields has no cache.
  const { id, pubkey, created_at, kind, tags, content, sig } = event
  if (!verifyEvent({ id, pubkey, created_at, kind, tags, content, sig }))
    throw JobError.INVALID_EVENT('bad id or signature')
}

export function checkTags(tags: unknown): asserts tags is Tag[] {
  if (!Array.isArray(tags)) throw JobError.INVALID_EVENT('tags are not a list')
  if (tags.length > MAX_JOB_TAGS) throw JobError.LIMIT_EXCEEDED('the number of tags', MAX_JOB_TAGS)
  for (const tag of tags) {
    if (!Array.isArray(tag) || tag.length === 0 || !tag.every((v) => typeof v === 'string'))
      throw JobError.INVALID_EVENT('a tag is not a list of strings')
  }
}

export function tagsNamed(tags: Tag[], name: string): Tag[] {
  return tags.filter((t) => t[0] === name)
}

export function firstValue(tags: Tag[], name: string): string | undefined {
  return tags.find((t) => t[0] === name)?.[1]
}

export function isHex64(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value)
}

/** A msat amount as NIP-90 writes it (a decimal string); anything else is refused, not rounded. */
export function parseMsat(value: string | undefined, what: string): number | null {
  if (value === undefined) return null
  if (!MSAT.test(value) || !Number.isSafeInteger(Number(value))) throw JobError.INVALID_EVENT(`${what} is not msat`)
  return Number(value)
}

/** A unix time in seconds, as NIP-40 writes it. */
export function parseSeconds(value: string | undefined, what: string): number | null {
  if (value === undefined) return null
  if (!/^[0-9]{1,12}$/.test(value)) throw JobError.INVALID_EVENT(`${what} is not a unix time`)
  return Number(value)
}

/** At most `max` bytes of `text`, cut on a character boundary. */
export function bounded(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text
  let cut = Buffer.from(text).subarray(0, max).toString('utf8')
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1)
  return cut
}
