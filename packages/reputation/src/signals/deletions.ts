// NIP-09 deletions (kind 5) as revocations: one counts only for events of its own author, by `e`
// (that event) or by `a` (every version of that address up to the deletion's created_at).

import { kinds } from '@2020117/protocol'
import type { Event } from 'nostr-tools/pure'
import { verifiedAll } from '../check.js'

export interface Deletions {
  /** Whether `event` was deleted by its author, by id or (when given) by its address. */
  deleted(event: Event, address?: string): boolean
}

export function readDeletions(events: readonly unknown[]): Deletions {
  const ids = new Set<string>()
  const addresses = new Map<string, number>()
  for (const d of verifiedAll(events, kinds.Deletion)) {
    for (const t of d.tags) {
      if (t[0] === 'e' && t[1] !== undefined) ids.add(byAuthor(d.pubkey, t[1]))
      if (t[0] === 'a' && t[1] !== undefined) {
        const key = byAuthor(d.pubkey, t[1])
        addresses.set(key, Math.max(addresses.get(key) ?? -Infinity, d.created_at))
      }
    }
  }
  return {
    deleted(event, address) {
      if (ids.has(byAuthor(event.pubkey, event.id))) return true
      if (address === undefined) return false
      return (addresses.get(byAuthor(event.pubkey, address)) ?? -Infinity) >= event.created_at
    }
  }
}

/** A deletion is looked up under its own author: another key's deletion of an event finds nothing. */
function byAuthor(author: string, target: string): string {
  return `${author} ${target}`
}
