// The relay's write policy (SPEC §12, AIP-0005): which kinds it accepts, the proof of work each
// kind costs (committed target, §12.2), and who may write. Checked after the signature and before
// anything touches storage. There is deliberately no "known pubkey" bypass: having published a free
// kind (say a 7000 feedback) buys nothing; the only excuse is the operator's explicit `powExempt`.

import type { Event } from '@nostr-relay/common'
import {
  MAX_POW_BITS,
  RELAY_ACCEPTED_KINDS,
  RELAY_POW_DEFAULTS,
  committedPowBits,
  kindInRanges,
  powBitsFor,
  type KindRange,
  type PowRule,
  type RelayPolicy
} from '@2020117/protocol'
import { RelayError } from './errors.js'

export type AuthMode = 'off' | 'writes' | 'all'

export interface RelayPolicyOptions {
  /** Default RELAY_ACCEPTED_KINDS; null accepts every kind. */
  acceptedKinds: readonly KindRange[] | null
  /** Per-kind proof of work. Default RELAY_POW_DEFAULTS; [] asks for none. */
  pow: readonly PowRule[]
  /** Proof of work every kind needs at least. Default 0. */
  minPow: number
  /** Hex pubkeys excused the proof of work: an explicit allow-list. Default []. */
  powExempt: readonly string[]
  /** Only these authors may write (NIP-11 restricted_writes). Default null: anyone. */
  writers: readonly string[] | null
  /** NIP-42: 'writes' needs every EVENT from a connection authenticated as its author; 'all' also
   *  restricts NIP-47 reads (23194/23195) to their author and `p`. Default 'off'. */
  auth: AuthMode
  /** Regular events older than this are pruned. Default null: kept. */
  retentionSeconds: number | null
}

export const DEFAULT_POLICY: Readonly<RelayPolicyOptions> = Object.freeze({
  acceptedKinds: RELAY_ACCEPTED_KINDS,
  pow: RELAY_POW_DEFAULTS,
  minPow: 0,
  powExempt: Object.freeze([]) as readonly string[],
  writers: null,
  auth: 'off',
  retentionSeconds: null
})

/** Accepts every kind and asks for no proof of work: for tests and private networks. */
export const OPEN_POLICY: Readonly<RelayPolicyOptions> = Object.freeze({
  ...DEFAULT_POLICY,
  acceptedKinds: null,
  pow: Object.freeze([]) as readonly PowRule[]
})

/** The policy with sets for the per-event lookups. */
export interface ResolvedPolicy extends RelayPolicyOptions {
  readonly exempt: ReadonlySet<string>
  readonly writerSet: ReadonlySet<string> | null
}

const HEX64 = /^[0-9a-f]{64}$/

export function resolvePolicy(given: Partial<RelayPolicyOptions> | undefined): ResolvedPolicy {
  const policy = { ...DEFAULT_POLICY, ...given }
  if (policy.acceptedKinds !== null && !isKindRanges(policy.acceptedKinds)) {
    throw RelayError.INVALID_OPTION('policy.acceptedKinds', 'must be null or a list of kinds and [first, last] ranges')
  }
  if (!Array.isArray(policy.pow) || !policy.pow.every((r) => isBits(r?.bits) && isKindRanges(r.kinds))) {
    throw RelayError.INVALID_OPTION(
      'policy.pow',
      `must be a list of { kinds, bits } with bits from 0 to ${MAX_POW_BITS}`
    )
  }
  if (!isBits(policy.minPow)) throw RelayError.INVALID_OPTION('policy.minPow', `must be an integer 0-${MAX_POW_BITS}`)
  if (!isPubkeys(policy.powExempt)) {
    throw RelayError.INVALID_OPTION('policy.powExempt', 'must be a list of 64-character lowercase hex pubkeys')
  }
  if (policy.writers !== null && !isPubkeys(policy.writers)) {
    throw RelayError.INVALID_OPTION('policy.writers', 'must be null or a list of 64-character lowercase hex pubkeys')
  }
  if (!['off', 'writes', 'all'].includes(policy.auth)) {
    throw RelayError.INVALID_OPTION('policy.auth', "must be 'off', 'writes' or 'all'")
  }
  const retention = policy.retentionSeconds
  if (retention !== null && (!Number.isSafeInteger(retention) || retention < 1)) {
    throw RelayError.INVALID_OPTION('policy.retentionSeconds', 'must be null or a positive integer')
  }
  return { ...policy, exempt: new Set(policy.powExempt), writerSet: policy.writers ? new Set(policy.writers) : null }
}

/** The policy as protocol's NIP-11 reader sees it. */
export function statedPolicy(policy: ResolvedPolicy): RelayPolicy {
  return {
    minPow: policy.minPow,
    pow: policy.pow,
    acceptedKinds: policy.acceptedKinds,
    authRequired: policy.auth !== 'off'
  }
}

/** Why the policy refuses this (signature-checked) event, or null when it accepts it. */
export function policyRefusal(event: Event, policy: ResolvedPolicy): RelayError | null {
  if (policy.acceptedKinds !== null && !kindInRanges(event.kind, policy.acceptedKinds)) {
    return RelayError.KIND_BLOCKED(event.kind)
  }
  if (policy.writerSet !== null && !policy.writerSet.has(event.pubkey)) {
    return RelayError.WRITER_NOT_ALLOWED(event.pubkey)
  }
  if (policy.exempt.has(event.pubkey)) return null
  const required = Math.max(policy.minPow, powBitsFor(policy.pow, event.kind))
  if (required === 0) return null
  const found = committedPowBits(event)
  return found >= required ? null : RelayError.POW_REQUIRED(event.kind, required, found)
}

function isBits(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_POW_BITS
}

function isKind(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535
}

function isKindRanges(value: unknown): value is readonly KindRange[] {
  return (
    Array.isArray(value) &&
    value.every(
      (r) => isKind(r) || (Array.isArray(r) && r.length === 2 && isKind(r[0]) && isKind(r[1]) && r[0] <= r[1])
    )
  )
}

function isPubkeys(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((k) => typeof k === 'string' && HEX64.test(k))
}
