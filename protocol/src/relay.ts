// The network relay's policy (SPEC §12): the kinds it accepts, the proof of work (NIP-13) each
// kind needs, and how a relay states both in its NIP-11 document. The relay writes that document
// from these functions and every client reads it with them, so the two cannot drift apart.

import { getPow } from 'nostr-tools/nip13'
import {
  AppData,
  Contacts,
  Deletion,
  Metadata,
  TextNote,
  JobFeedback,
  Label,
  NWCWalletInfo,
  NWCWalletRequest,
  NWCWalletResponse,
  BlossomAuth,
  Heartbeat,
  TrustAssertion,
  Review,
  Handlerinformation,
  Report,
  TrustedServiceList,
  Zap,
  ZapRequest
} from './kinds.js'
import { JOB_REQUEST_KIND_MAX, JOB_REQUEST_KIND_MIN, JOB_RESULT_OFFSET } from './jobs.js'

/** One kind, or an inclusive range `[first, last]`: the form of NIP-11's `retention.kinds`. */
export type KindRange = number | readonly [number, number]

/** Events of these kinds need `bits` of committed proof of work (§12.2). */
export interface PowRule {
  readonly kinds: readonly KindRange[]
  readonly bits: number
}

/** What a relay's NIP-11 document says it enforces, as a client needs it (§12.3). */
export interface RelayPolicy {
  /** `limitation.min_pow_difficulty`: the floor for every kind. */
  readonly minPow: number
  /** `pow_by_kind`: the per-kind table above that floor. */
  readonly pow: readonly PowRule[]
  /** `accepted_kinds`, or null when the relay accepts any kind. */
  readonly acceptedKinds: readonly KindRange[] | null
  /** `limitation.auth_required`, as NIP-11 means it: NIP-42 before any other message. */
  readonly authRequired: boolean
  /** `auth_writes`: an event is taken only from a connection authenticated as its author (§12.5). */
  readonly authWrites: boolean
}

const JOB_REQUESTS: KindRange = [JOB_REQUEST_KIND_MIN, JOB_REQUEST_KIND_MAX]
const JOB_RESULTS: KindRange = [JOB_REQUEST_KIND_MIN + JOB_RESULT_OFFSET, JOB_REQUEST_KIND_MAX + JOB_RESULT_OFFSET]

/** Every kind the project publishes or reads, and the social kinds the policy prices (AIP-0005). */
export const RELAY_ACCEPTED_KINDS: readonly KindRange[] = Object.freeze([
  Metadata,
  TextNote,
  Contacts,
  Deletion,
  Report,
  Label,
  JOB_REQUESTS,
  JOB_RESULTS,
  JobFeedback,
  ZapRequest,
  Zap,
  TrustedServiceList,
  NWCWalletInfo,
  NWCWalletRequest,
  NWCWalletResponse,
  BlossomAuth,
  AppData,
  Heartbeat,
  TrustAssertion,
  Review,
  Handlerinformation
])

/** Social kinds cost 20 bits, job requests 10; results, feedback, heartbeats and zaps nothing. */
export const SOCIAL_POW_BITS = 20
export const JOB_REQUEST_POW_BITS = 10
export const RELAY_POW_DEFAULTS: readonly PowRule[] = Object.freeze([
  Object.freeze({ kinds: Object.freeze([Metadata, TextNote, Contacts, Deletion, AppData]), bits: SOCIAL_POW_BITS }),
  Object.freeze({ kinds: Object.freeze([JOB_REQUESTS]), bits: JOB_REQUEST_POW_BITS })
])

/** No rule may ask for more: an id has 256 bits, and 32 is already months of mining. */
export const MAX_POW_BITS = 32
/** Bounds on a stranger's NIP-11 document: rules and kind entries read, the rest ignored. */
export const MAX_POW_RULES = 64
export const MAX_KIND_ENTRIES = 256

const MAX_KIND = 65535

export function kindInRanges(kind: number, ranges: readonly KindRange[]): boolean {
  return ranges.some((r) => (typeof r === 'number' ? r === kind : kind >= r[0] && kind <= r[1]))
}

/** The bits a kind needs under these rules: the largest that matches, 0 when none does. */
export function powBitsFor(rules: readonly PowRule[], kind: number): number {
  let bits = 0
  for (const rule of rules) if (rule.bits > bits && kindInRanges(kind, rule.kinds)) bits = rule.bits
  return bits
}

/** The bits a client must mine for `kind` on a relay with this policy. */
export function requiredPowBits(policy: RelayPolicy, kind: number): number {
  return Math.max(policy.minPow, powBitsFor(policy.pow, kind))
}

/**
 * The proof of work an event carries (§12.2): its id's leading zero bits, but no more than the
 * target its `nonce` tag commits to. Without the commitment an id that is zero by luck would pass,
 * and a spammer could publish until one is.
 */
export function committedPowBits(event: { id: string; tags: readonly (readonly string[])[] }): number {
  const nonce = event.tags.find((tag) => tag[0] === 'nonce')
  const target = nonce?.[2]
  if (target === undefined || !/^\d{1,3}$/.test(target)) return 0
  return Math.min(getPow(event.id), Number(target))
}

/** A policy that asks for nothing: what a client assumes of a relay without a readable document. */
export const OPEN_RELAY_POLICY: RelayPolicy = Object.freeze({
  minPow: 0,
  pow: Object.freeze([]),
  acceptedKinds: null,
  authRequired: false,
  authWrites: false
})

/** The NIP-11 fields that state a policy, for the relay's document. */
export function relayPolicyInfo(policy: RelayPolicy): {
  limitation: { min_pow_difficulty: number; auth_required: boolean }
  pow_by_kind: PowRule[]
  auth_writes: boolean
  accepted_kinds?: KindRange[]
} {
  return {
    limitation: { min_pow_difficulty: policy.minPow, auth_required: policy.authRequired },
    pow_by_kind: policy.pow.map((rule) => ({ kinds: [...rule.kinds], bits: rule.bits })),
    auth_writes: policy.authWrites,
    ...(policy.acceptedKinds ? { accepted_kinds: [...policy.acceptedKinds] } : {})
  }
}

/**
 * Reads the policy out of a relay's NIP-11 document: a stranger's JSON, so every field is checked
 * and bounded, and what cannot be read is taken as absent (the relay's `pow:` refusal is the
 * backstop: a client mines and retries once, §12.4).
 */
export function relayPolicyFromInfo(document: unknown): RelayPolicy {
  const doc = isObject(document) ? document : {}
  const limitation = isObject(doc.limitation) ? doc.limitation : {}
  const minPow = isBits(limitation.min_pow_difficulty) ? limitation.min_pow_difficulty : 0
  const pow: PowRule[] = []
  if (Array.isArray(doc.pow_by_kind)) {
    for (const rule of doc.pow_by_kind.slice(0, MAX_POW_RULES)) {
      if (!isObject(rule) || !isBits(rule.bits)) continue
      const kinds = readKindRanges(rule.kinds)
      if (kinds && kinds.length > 0) pow.push({ kinds, bits: rule.bits })
    }
  }
  return {
    minPow,
    pow,
    acceptedKinds: readKindRanges(doc.accepted_kinds),
    authRequired: limitation.auth_required === true,
    authWrites: doc.auth_writes === true
  }
}

/** The NIP-11 address of a relay: the same host and path over http(s). */
export function relayInfoUrl(relayUrl: string): string {
  const url = new URL(relayUrl)
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`not a relay URL: ${relayUrl}`)
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:'
  return url.toString()
}

/** `0,1,3,5000-5999` → kind ranges; throws a TypeError that names the bad entry. */
export function parseKindRanges(text: string): KindRange[] {
  const out: KindRange[] = []
  for (const part of text.split(',')) {
    const entry = part.trim()
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(entry)
    const first = Number(m?.[1])
    const last = m?.[2] === undefined ? first : Number(m[2])
    if (!m || first > MAX_KIND || last > MAX_KIND || last < first) {
      throw new TypeError(`"${entry.slice(0, 32)}" is not a kind (0-${MAX_KIND}) or a range of kinds like 5000-5999`)
    }
    out.push(first === last ? first : [first, last])
  }
  return out
}

export function formatKindRanges(ranges: readonly KindRange[]): string {
  return ranges.map((r) => (typeof r === 'number' ? String(r) : `${r[0]}-${r[1]}`)).join(',')
}

function readKindRanges(value: unknown): KindRange[] | null {
  if (!Array.isArray(value)) return null
  const out: KindRange[] = []
  for (const entry of value.slice(0, MAX_KIND_ENTRIES)) {
    if (isKind(entry)) out.push(entry)
    else if (
      Array.isArray(entry) &&
      entry.length === 2 &&
      isKind(entry[0]) &&
      isKind(entry[1]) &&
      entry[0] <= entry[1]
    ) {
      out.push([entry[0], entry[1]])
    }
  }
  return out
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isKind(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_KIND
}

function isBits(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_POW_BITS
}
