// The viewer's graph (SPEC §11.1): its follows are the `p` tags of its newest valid kind 3, its graph
// the viewer, its follows and their follows. Bounded as SPEC §11.5 says: at most MAX_FOLLOWS read
// from each list and MAX_GRAPH members, the first ones in list order, the viewer's follows first.

import { kinds, MAX_FOLLOWS, MAX_GRAPH, MAX_SIGNAL_TAGS } from '@2020117/protocol'
import { isPubkey, newestValid } from './check.js'
import type { Graph, ViewerEvents } from './types.js'

/**
 * A follow list is no signal, so it may hold far more than MAX_SIGNAL_TAGS tags; past MAX_GRAPH
 * tags no list adds anything the graph keeps.
 */
const MAX_CONTACT_TAGS = MAX_GRAPH

export type GraphClass = 'follows' | 'graph' | 'outside'

export function buildGraph(viewer: string | null, events: ViewerEvents): Graph {
  if (viewer === null || !isPubkey(viewer))
    return { viewer: null, follows: new Set(), members: new Set(), services: new Set() }
  const contacts = events.contacts ?? []
  const follows = new Set(followsOf(viewer, contacts).filter((p) => p !== viewer))
  const members = new Set([viewer, ...follows])
  for (const f of follows) {
    for (const p of followsOf(f, contacts)) {
      if (members.size >= MAX_GRAPH) break
      members.add(p)
    }
  }
  return { viewer, follows, members, services: servicesOf(viewer, events.serviceLists ?? []) }
}

/** Where `pubkey` stands for the viewer: the viewer and its follows, their follows, or outside. */
export function classOf(graph: Graph, pubkey: string): GraphClass {
  if (pubkey === graph.viewer || graph.follows.has(pubkey)) return 'follows'
  return graph.members.has(pubkey) ? 'graph' : 'outside'
}

/** The first MAX_FOLLOWS distinct keys of the author's newest valid kind 3. */
function followsOf(author: string, contacts: readonly unknown[]): string[] {
  const list = newestValid(contacts, author, kinds.Contacts, MAX_CONTACT_TAGS)
  const out = new Set<string>()
  for (const t of list?.tags ?? []) {
    if (out.size >= MAX_FOLLOWS) break
    if (t[0] === 'p' && isPubkey(t[1])) out.add(t[1])
  }
  return [...out]
}

/** NIP-85: the services of the viewer's newest valid kind 10040 that it chose for `30382:rank`. */
function servicesOf(viewer: string, lists: readonly unknown[]): Set<string> {
  const list = newestValid(lists, viewer, kinds.TrustedServiceList, MAX_SIGNAL_TAGS)
  const out = new Set<string>()
  for (const t of list?.tags ?? []) if (t[0] === `${kinds.TrustAssertion}:rank` && isPubkey(t[1])) out.add(t[1])
  return out
}
