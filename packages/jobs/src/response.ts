// Feedback (kind 7000) and results (request kind + 1000): written by the provider, read by the
// customer, who acts on them with money. So the reader refuses anything that is not exactly an
// answer to its own request: signed, of the right kind, naming only that request, addressed to it.
//
// Invariants:
// - An answer to an encrypted request carries no plaintext the request hid: its content (the
//   output, the status text) is encrypted to the customer in the request's scheme, and the result
//   repeats no `i` tag.
// - The reader never takes the first `p` as the customer (NDK puts the provider's own key first):
//   the customer must be among the `p` tags.

import {
  JOB_STATUSES,
  jobResultKind,
  kinds as KIND,
  MAX_JOB_BOLT11_CHARS,
  MAX_JOB_STATUS_TEXT_BYTES,
  MAX_JOB_TAGS,
  type JobStatus
} from '@2020117/protocol'
import { finalizeEvent, type Event } from 'nostr-tools/pure'
import { decryptFrom, encryptFor, type Encryption } from './crypto.js'
import { JobError } from './errors.js'
import type { JobRequest } from './request.js'
import { bounded, checkEvent, firstValue, isHex64, parseMsat, tagsNamed, type Tag } from './tags.js'

/** The stringified request goes into a result's `request` tag only up to this size. */
const MAX_REQUEST_TAG_BYTES = 32 * 1024

export interface FeedbackOptions {
  status: JobStatus
  /** Why, for a person: the third element of the status tag (encrypted jobs: in the content). */
  text?: string
  amountMsat?: number
  bolt11?: string
  /** A partial result, if any (plaintext jobs only). */
  content?: string
}

export interface ResultOptions {
  /** The output, or the URL of a blob that holds it. */
  content: string
  amountMsat?: number
  bolt11?: string
  /** The blob the content links to: its sha256 (tag `x`) and type (tag `m`). */
  blob?: { sha256: string; mime: string }
}

/** What the customer needs to know to answer one request. */
export interface RequestRef {
  id: string
  kind: number
  customer: string
  encryption: Encryption | null
}

export interface Feedback {
  provider: string
  /** A status of JOB_STATUSES, or null for one this version does not know. */
  status: JobStatus | null
  rawStatus: string
  text: string
  amountMsat: number | null
  bolt11: string | null
  content: string
  event: Event
}

export interface Result {
  provider: string
  content: string
  amountMsat: number | null
  bolt11: string | null
  blob: { sha256: string; mime: string | null } | null
  event: Event
}

export function buildFeedback(request: JobRequest, f: FeedbackOptions, secretKey: Uint8Array): Event {
  const text = bounded(f.text ?? '', MAX_JOB_STATUS_TEXT_BYTES)
  const hidden = request.encryption !== null
  const tags: Tag[] = [
    hidden || !text ? ['status', f.status] : ['status', f.status, text],
    ...addressTags(request),
    ...amountTags(f.amountMsat, f.bolt11)
  ]
  let content = f.content ?? ''
  if (hidden) {
    // The status text may quote the input (a processor's stderr): it travels encrypted, as a JSON
    // list of tags, which is what NDK's NDKDVMJobFeedback decrypts and appends to the event's
    // tags. Never empty: NDK decrypts every feedback marked encrypted.
    tags.push(['encrypted'])
    const hiddenTags = [text ? ['status', f.status, text] : ['status', f.status]]
    content = encryptFor(request.encryption!, secretKey, request.customer, JSON.stringify(hiddenTags))
  }
  return finalizeEvent({ kind: KIND.JobFeedback, created_at: now(), tags, content }, secretKey)
}

export function buildResult(request: JobRequest, r: ResultOptions, secretKey: Uint8Array): Event {
  const hidden = request.encryption !== null
  const requestJson = JSON.stringify(request.event)
  const tags: Tag[] = [
    ...(Buffer.byteLength(requestJson) <= MAX_REQUEST_TAG_BYTES ? [['request', requestJson]] : []),
    ...addressTags(request),
    ...(hidden ? [['encrypted']] : request.inputs.map((i) => ['i', i.data, i.type, ...(i.relay ? [i.relay] : [])])),
    ...amountTags(r.amountMsat, r.bolt11),
    ...(r.blob
      ? [
          ['x', r.blob.sha256],
          ['m', r.blob.mime]
        ]
      : [])
  ]
  const content = hidden ? encryptFor(request.encryption!, secretKey, request.customer, r.content) : r.content
  return finalizeEvent({ kind: jobResultKind(request.kind), created_at: now(), tags, content }, secretKey)
}

/** Reads a feedback to request `ref` for its customer, whose `secretKey` decrypts it if need be. */
export function parseFeedback(event: Event, ref: RequestRef, secretKey: Uint8Array): Feedback {
  checkAnswer(event, ref, KIND.JobFeedback)
  const statusTag = tagsNamed(event.tags, 'status')[0]
  if (!statusTag?.[1]) throw JobError.INVALID_EVENT('a feedback without a status')
  const rawStatus = statusTag[1].slice(0, 32)
  const spelled = rawStatus === 'payment_required' ? 'payment-required' : rawStatus
  const status = (JOB_STATUSES as readonly string[]).includes(spelled) ? (spelled as JobStatus) : null
  let text = bounded(statusTag[2] ?? '', MAX_JOB_STATUS_TEXT_BYTES)
  let content = event.content
  if (ref.encryption !== null && event.content && event.tags.some((t) => t[0] === 'encrypted')) {
    // One that does not decrypt counts as none: the status stands, and it is only ever a reason
    // to wait or to pay, never a result.
    try {
      text = hiddenText(decryptFrom(secretKey, event.pubkey, event.content).plaintext, rawStatus)
    } catch {
      text = ''
    }
    content = ''
  }
  return { provider: event.pubkey, status, rawStatus, text, ...readAmount(event.tags), content, event }
}

/**
 * The status text of an encrypted feedback: the text of its hidden `status` tag (a JSON list of
 * tags, SPEC §10.1), or, from providers before that form, the bare text. The clear status tag
 * stands: a hidden tag of another status lends it no text.
 */
function hiddenText(plaintext: string, rawStatus: string): string {
  let tags: unknown
  try {
    tags = JSON.parse(plaintext)
  } catch {
    return bounded(plaintext, MAX_JOB_STATUS_TEXT_BYTES)
  }
  if (!Array.isArray(tags)) return bounded(plaintext, MAX_JOB_STATUS_TEXT_BYTES)
  const status = tags
    .slice(0, MAX_JOB_TAGS)
    .find((t): t is string[] => Array.isArray(t) && t[0] === 'status' && t[1] === rawStatus)
  return typeof status?.[2] === 'string' ? bounded(status[2], MAX_JOB_STATUS_TEXT_BYTES) : ''
}

/** Reads a result of request `ref` for its customer. An encrypted result that does not decrypt is refused. */
export function parseResult(event: Event, ref: RequestRef, secretKey: Uint8Array): Result {
  checkAnswer(event, ref, jobResultKind(ref.kind))
  let content = event.content
  if (event.tags.some((t) => t[0] === 'encrypted')) content = decryptFrom(secretKey, event.pubkey, content).plaintext
  else if (ref.encryption !== null) throw JobError.NOT_OUR_REQUEST('a plaintext result for an encrypted request')
  const sha256 = firstValue(event.tags, 'x')
  if (sha256 !== undefined && !isHex64(sha256)) throw JobError.INVALID_EVENT('the x tag is not a sha256')
  const mime = firstValue(event.tags, 'm')?.slice(0, 128) ?? null
  return {
    provider: event.pubkey,
    content,
    ...readAmount(event.tags),
    blob: sha256 ? { sha256, mime } : null,
    event
  }
}

/** Signed, of `kind`, naming our request and only it, and addressed to our customer. */
function checkAnswer(event: Event, ref: RequestRef, kind: number): void {
  checkEvent(event)
  if (event.kind !== kind) throw JobError.NOT_OUR_REQUEST(`kind ${event.kind}, expected ${kind}`)
  const ids = tagsNamed(event.tags, 'e').map((t) => t[1])
  if (ids.length === 0 || ids.some((id) => id !== ref.id)) throw JobError.NOT_OUR_REQUEST('it names another request')
  if (!tagsNamed(event.tags, 'p').some((t) => t[1] === ref.customer))
    throw JobError.NOT_OUR_REQUEST('it is not addressed to us')
}

function readAmount(tags: Tag[]): { amountMsat: number | null; bolt11: string | null } {
  const tag = tagsNamed(tags, 'amount')[0]
  if (!tag) return { amountMsat: null, bolt11: null }
  const bolt11 = tag[2] ? tag[2].trim() : null
  if (bolt11 !== null && bolt11.length > MAX_JOB_BOLT11_CHARS)
    throw JobError.LIMIT_EXCEEDED('the bolt11 of the amount tag', MAX_JOB_BOLT11_CHARS)
  return { amountMsat: parseMsat(tag[1], 'the amount'), bolt11: bolt11 || null }
}

function addressTags(request: JobRequest): Tag[] {
  return [
    ['e', request.id, ...(request.relays[0] ? [request.relays[0]] : [])],
    ['p', request.customer]
  ]
}

function amountTags(msat: number | undefined, bolt11: string | undefined): Tag[] {
  if (msat === undefined) return []
  return [bolt11 ? ['amount', String(msat), bolt11] : ['amount', String(msat)]]
}

function now(): number {
  return Math.floor(Date.now() / 1000)
}
