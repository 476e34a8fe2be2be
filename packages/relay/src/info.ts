// The NIP-11 document (SPEC §12.3). It states what this relay enforces and nothing else: a client
// mines and authenticates by it, so a claim the relay does not keep costs someone work or a refusal.

import { relayPolicyInfo, type KindRange } from '@2020117/protocol'
import { statedPolicy, type ResolvedPolicy } from './policy.js'
import { MAX_SUBSCRIPTION_ID } from './messages.js'

export interface InfoLimits {
  maxMessageBytes: number
  maxSubscriptionsPerConnection: number
  maxFiltersPerSubscription: number
  maxQueryLimit: number
}

/** The kinds `retentionSeconds` prunes: regular ones, except deletions (replaceables are state). */
const RETAINED_KINDS: readonly KindRange[] = Object.freeze([[1, 2], 4, [6, 9999], [40000, 65535]] as KindRange[])

export function relayInfoDocument(limits: InfoLimits, policy: ResolvedPolicy): Record<string, unknown> {
  const stated = relayPolicyInfo(statedPolicy(policy))
  const authOn = policy.auth !== 'off'
  return {
    name: '2020117 relay',
    description: "The 2020117 network's relay: a kind whitelist and per-kind proof of work with a committed target",
    software: '@2020117/relay',
    supported_nips: authOn ? [1, 9, 11, 13, 40, 42] : [1, 9, 11, 13, 40],
    limitation: {
      max_message_length: limits.maxMessageBytes,
      max_subscriptions: limits.maxSubscriptionsPerConnection,
      max_filters: limits.maxFiltersPerSubscription,
      max_limit: limits.maxQueryLimit,
      max_subid_length: MAX_SUBSCRIPTION_ID,
      ...stated.limitation,
      restricted_writes: policy.writers !== null || authOn,
      payment_required: false
    },
    pow_by_kind: stated.pow_by_kind,
    ...(stated.accepted_kinds ? { accepted_kinds: stated.accepted_kinds } : {}),
    ...(policy.retentionSeconds !== null
      ? {
          retention: [
            { kinds: RETAINED_KINDS.map((r) => (typeof r === 'number' ? r : [...r])), time: policy.retentionSeconds }
          ]
        }
      : {})
  }
}
