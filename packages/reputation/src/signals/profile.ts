// The subject's Lightning address: the `lud16` of its newest valid kind 0. It names the LNURL server
// whose nostrPubkey must sign the subject's zap receipts (NIP-57 Appendix F).

import { kinds, MAX_SIGNAL_TAGS } from '@2020117/protocol'
import type { Event } from 'nostr-tools/pure'
import { newestValid } from '../check.js'

/** A profile is a small JSON object; past this it is not parsed. */
const MAX_PROFILE_BYTES = 64 * 1024
/** An address is a name and a domain name: at most 64 + 1 + 253 characters. */
const MAX_LUD16_CHARS = 320
/** Printable ASCII around one @: nothing a terminal or a URL would read two ways. */
const ADDRESS = /^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+$/

/** The lud16 of the subject's newest valid kind 0, or null. */
export function lud16Of(subject: string, profiles: readonly Event[]): string | null {
  const profile = newestValid(profiles, subject, kinds.Metadata, MAX_SIGNAL_TAGS)
  if (!profile || Buffer.byteLength(profile.content, 'utf8') > MAX_PROFILE_BYTES) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(profile.content)
  } catch {
    return null
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null
  const lud16 = (parsed as Record<string, unknown>).lud16
  if (typeof lud16 !== 'string' || lud16.length > MAX_LUD16_CHARS || !ADDRESS.test(lud16)) return null
  return lud16
}
