// A job request (NIP-90 kinds 5000–5999): written by the customer, read by the provider.
//
// Invariants:
// - What parseRequest returns was signed by `customer` and fits every bound of protocol/src/jobs.ts;
//   an event that breaks one is refused whole (JobError), never trimmed into something it was not.
// - An encrypted request's private tags (inputs, params, bid, output) exist only after decryption
//   and only in the returned object: the event itself is never changed, so nothing decrypted can
//   travel on in it (NDK decrypts in place; we do not).

import {
  isJobRequestKind,
  JOB_INPUT_TYPES,
  kinds as KIND,
  MAX_JOB_INPUT_BYTES,
  MAX_JOB_INPUTS,
  MAX_JOB_PARAM_BYTES,
  MAX_JOB_PARAMS,
  MAX_JOB_PROVIDERS,
  MAX_JOB_RELAYS,
  type JobInputType
} from '@2020117/protocol'
import { finalizeEvent, getPublicKey, type Event } from 'nostr-tools/pure'
import { decryptFrom, encryptFor, type Encryption } from './crypto.js'
import { JobError } from './errors.js'
import { checkEvent, checkTags, firstValue, isHex64, parseMsat, parseSeconds, tagsNamed, type Tag } from './tags.js'

export interface JobInput {
  data: string
  type: JobInputType
  relay?: string
  marker?: string
}

export interface JobRequest {
  id: string
  kind: number
  /** The author: who pays, and whom every answer is for. */
  customer: string
  createdAt: number
  inputs: JobInput[]
  /** `param` tags by name; the first of a repeated name counts. */
  params: Record<string, string>
  bidMsat: number | null
  /** Where the customer wants the answers (ws:// and wss:// only). */
  relays: string[]
  /** The providers it is addressed to; empty for a broadcast request. */
  providers: string[]
  output: string | null
  /** NIP-40: after this unix time the request is void. */
  expiration: number | null
  /** How it was encrypted, or null for a plaintext request. */
  encryption: Encryption | null
  /** The signed event as received (unchanged, still encrypted if it was). */
  event: Event
}

export interface RequestOptions {
  kind: number
  inputs: JobInput[]
  params?: Record<string, string>
  bidMsat?: number
  relays?: string[]
  /** Address it to one provider (required to encrypt). */
  provider?: string
  output?: string
  expiration?: number
  /** Encrypt inputs, params, bid and output to `provider` (NIP-44 unless told otherwise). */
  encrypt?: Encryption
  createdAt?: number
}

/** Signs a request. Its inputs and params are bounded here as the provider will bound them. */
export function buildRequest(opts: RequestOptions, secretKey: Uint8Array): Event {
  if (!isJobRequestKind(opts.kind)) throw JobError.INVALID_EVENT(`kind ${opts.kind} is not a job request kind`)
  const secret: Tag[] = [
    ...opts.inputs.map((i) => [
      'i',
      i.data,
      i.type,
      ...(i.relay || i.marker ? [i.relay ?? ''] : []),
      ...(i.marker ? [i.marker] : [])
    ]),
    ...Object.entries(opts.params ?? {}).map(([k, v]) => ['param', k, v]),
    ...(opts.bidMsat !== undefined ? [['bid', String(opts.bidMsat)]] : []),
    ...(opts.output ? [['output', opts.output]] : [])
  ]
  readPrivate(secret) // the same bounds a provider applies: refuse here what it would refuse there
  const open: Tag[] = [
    ...(opts.provider ? [['p', opts.provider]] : []),
    ...(opts.relays?.length ? [['relays', ...opts.relays]] : []),
    ...(opts.expiration !== undefined ? [['expiration', String(opts.expiration)]] : [])
  ]
  let tags: Tag[]
  let content = ''
  if (opts.encrypt) {
    if (!opts.provider) throw JobError.INVALID_EVENT('an encrypted request needs the provider it is encrypted to')
    content = encryptFor(opts.encrypt, secretKey, opts.provider, JSON.stringify(secret))
    tags = [...open, ['encrypted']]
  } else {
    tags = [...secret, ...open]
  }
  const createdAt = opts.createdAt ?? Math.floor(Date.now() / 1000)
  return finalizeEvent({ kind: opts.kind, created_at: createdAt, tags, content }, secretKey)
}

/**
 * Checks and reads a request. `secretKey` is the reader's, to decrypt a request encrypted to it;
 * without it, or when it does not decrypt, an encrypted request is refused (UNDECRYPTABLE).
 */
export function parseRequest(event: Event, opts: { secretKey?: Uint8Array } = {}): JobRequest {
  checkEvent(event)
  if (!isJobRequestKind(event.kind)) throw JobError.INVALID_EVENT(`kind ${event.kind} is not a job request kind`)
  const open = event.tags
  let tags: Tag[] = open
  let encryption: Encryption | null = null
  if (open.some((t) => t[0] === 'encrypted')) {
    if (!opts.secretKey) throw JobError.UNDECRYPTABLE('no key to decrypt it with')
    const { scheme, plaintext } = decryptFrom(opts.secretKey, event.pubkey, event.content)
    tags = [...open, ...privateTags(plaintext, scheme)]
    encryption = scheme
  }
  return {
    id: event.id,
    kind: event.kind,
    customer: event.pubkey,
    createdAt: event.created_at,
    ...readPrivate(tags),
    relays: readRelays(tags),
    providers: readProviders(tags),
    expiration: parseSeconds(firstValue(tags, 'expiration'), 'expiration'),
    encryption,
    event
  }
}

/**
 * The decrypted content of an encrypted request: a JSON list of tags. NIP-04 has no MAC: about one
 * wrong key in 256 leaves valid padding and "decrypts" to garbage, so there a content that is not a
 * list of tags is UNDECRYPTABLE, as any wrong key is; NIP-44's MAC makes it a bad event.
 */
function privateTags(plaintext: string, scheme: Encryption): Tag[] {
  try {
    const value: unknown = JSON.parse(plaintext)
    checkTags(value)
    return value
  } catch (err) {
    if (scheme === 'nip04') throw JobError.UNDECRYPTABLE('nip04: the decrypted content is not a JSON list of tags')
    if (err instanceof JobError) throw err
    throw JobError.INVALID_EVENT('the decrypted content is not JSON')
  }
}

function readPrivate(tags: Tag[]): Pick<JobRequest, 'inputs' | 'params' | 'bidMsat' | 'output'> {
  const iTags = tagsNamed(tags, 'i')
  if (iTags.length > MAX_JOB_INPUTS) throw JobError.LIMIT_EXCEEDED('the number of inputs', MAX_JOB_INPUTS)
  const inputs = iTags.map(readInput)
  const bytes = inputs.reduce((sum, i) => sum + Buffer.byteLength(i.data), 0)
  if (bytes > MAX_JOB_INPUT_BYTES) throw JobError.LIMIT_EXCEEDED('the input, in bytes', MAX_JOB_INPUT_BYTES)
  const paramTags = tagsNamed(tags, 'param')
  if (paramTags.length > MAX_JOB_PARAMS) throw JobError.LIMIT_EXCEEDED('the number of params', MAX_JOB_PARAMS)
  const params: Record<string, string> = Object.create(null)
  for (const [, name, value = ''] of paramTags) {
    if (!name || Buffer.byteLength(name) > MAX_JOB_PARAM_BYTES || Buffer.byteLength(value) > MAX_JOB_PARAM_BYTES)
      throw JobError.LIMIT_EXCEEDED('a param name or value, in bytes', MAX_JOB_PARAM_BYTES)
    if (!(name in params)) params[name] = value
  }
  const output = firstValue(tags, 'output') ?? null
  if (output !== null && output.length > 128) throw JobError.LIMIT_EXCEEDED('the output type', 128)
  return { inputs, params, bidMsat: parseMsat(firstValue(tags, 'bid'), 'bid'), output }
}

function readInput(tag: Tag): JobInput {
  const [, data = '', rawType = 'text', relay, marker] = tag
  const type = rawType === 'prompt' ? 'text' : rawType
  if (!(JOB_INPUT_TYPES as readonly string[]).includes(type))
    throw JobError.INVALID_EVENT(`input type "${type.slice(0, 16)}" is not one of ${JOB_INPUT_TYPES.join(', ')}`)
  if ((type === 'event' || type === 'job') && !/^[0-9a-f]{64}$/.test(data))
    throw JobError.INVALID_EVENT(`an input of type ${type} is not an event id`)
  return {
    data,
    type: type as JobInputType,
    ...(relay ? { relay: relay.slice(0, 256) } : {}),
    ...(marker ? { marker: marker.slice(0, 64) } : {})
  }
}

function readRelays(tags: Tag[]): string[] {
  const urls = tagsNamed(tags, 'relays').flatMap((t) => t.slice(1))
  const relays = [...new Set(urls.filter(isRelayUrl))]
  if (relays.length > MAX_JOB_RELAYS) throw JobError.LIMIT_EXCEEDED('the number of relays', MAX_JOB_RELAYS)
  return relays
}

function readProviders(tags: Tag[]): string[] {
  const providers = [...new Set(tagsNamed(tags, 'p').map((t) => t[1]))].filter(isHex64)
  if (providers.length > MAX_JOB_PROVIDERS) throw JobError.LIMIT_EXCEEDED('the number of providers', MAX_JOB_PROVIDERS)
  return providers
}

function isRelayUrl(url: string): boolean {
  if (url.length > 256) return false
  try {
    const u = new URL(url)
    return u.protocol === 'ws:' || u.protocol === 'wss:'
  } catch {
    return false
  }
}

/** Whether `request` has expired at `nowSecs`. */
export function isExpired(request: JobRequest, nowSecs = Math.floor(Date.now() / 1000)): boolean {
  return request.expiration !== null && request.expiration <= nowSecs
}

/** A NIP-09 deletion of the request by its author: how a customer cancels (NIP-90). */
export function buildCancellation(request: Event, secretKey: Uint8Array, reason = 'cancelled'): Event {
  if (getPublicKey(secretKey) !== request.pubkey) throw JobError.INVALID_EVENT('only the author can cancel a request')
  return finalizeEvent(
    {
      kind: KIND.Deletion,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['e', request.id],
        ['k', String(request.kind)]
      ],
      content: reason
    },
    secretKey
  )
}

/** The request ids a verified deletion names; the caller checks that their author is its author. */
export function cancelledIds(deletion: Event): string[] {
  checkEvent(deletion)
  if (deletion.kind !== KIND.Deletion) throw JobError.INVALID_EVENT('not a deletion')
  return [...new Set(tagsNamed(deletion.tags, 'e').map((t) => t[1]))].filter(isHex64)
}
