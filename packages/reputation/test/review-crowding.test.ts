// Hostile review of issue 13: the graph's signals are asked for apart from strangers' (collect.ts),
// but the union was then cut to the newest MAX_SIGNAL_EVENTS per category. Sybils outside the graph
// that publish that many events, all newer, pushed the graph's out again: a flagged provider's own
// sybils unflagged it, and a stranger's sybils took an honest provider's vouches away. A relay
// honouring `limit` (many allow 5000), or a few relays of 500 each, hands over that many.

import { describe, expect, test } from 'vitest'
import type { Event, Filter } from 'nostr-tools'
import type { RelayPool } from '@2020117/nostr'
import { kinds, MAX_SIGNAL_EVENTS } from '@2020117/protocol'
import { collectSubjects, type Graph } from '@2020117/reputation'

const hex = (n: number, tag: string) => `${tag}${n.toString(16)}`.padStart(64, '0')
const subject = hex(1, 'a')
const [viewer, f1, f2, f3] = [hex(2, 'b'), hex(3, 'b'), hex(4, 'b'), hex(5, 'b')]
const graph: Graph = {
  viewer,
  follows: new Set([f1, f2, f3]),
  members: new Set([viewer, f1, f2, f3]),
  services: new Set()
}
const T0 = 1_700_000_000

function stub(kind: number, pubkey: string, createdAt: number, tags: string[][], n: number): Event {
  return { id: hex(n, 'c'), pubkey, kind, created_at: createdAt, tags, content: '', sig: '' }
}

const inGraphReports = [f1, f2, f3].map((p, i) => stub(kinds.Report, p, T0 + i, [['p', subject, 'spam']], i))
const inGraphVouches = [f1, f2, f3].map((p, i) =>
  stub(
    kinds.TrustAssertion,
    p,
    T0 + i,
    [
      ['d', subject],
      ['p', subject],
      ['assertion', 'trusted']
    ],
    10 + i
  )
)
// Newer than every graph event; one sybil key each (nobody's follows).
const sybilReports = Array.from({ length: MAX_SIGNAL_EVENTS }, (_, i) =>
  stub(kinds.Report, hex(i, 'd'), T0 + 1000 + i, [['p', subject, 'other']], 100 + i)
)
const sybilVouches = Array.from({ length: MAX_SIGNAL_EVENTS }, (_, i) =>
  stub(
    kinds.TrustAssertion,
    hex(i, 'e'),
    T0 + 1000 + i,
    [
      ['d', subject],
      ['p', subject],
      ['assertion', 'trusted']
    ],
    10_000 + i
  )
)

/** A relay that honours `limit`: the graph's query gets the graph's events, the open one the newest. */
const generous = {
  relays: ['ws://127.0.0.1:1'],
  subscribe: (f: Filter, onevent: (e: Event) => void) => {
    const all = [...inGraphReports, ...inGraphVouches, ...sybilReports, ...sybilVouches]
    const matching = all.filter(
      (e) =>
        f.kinds?.includes(e.kind) &&
        (!f.authors || f.authors.includes(e.pubkey)) &&
        (!f['#p'] || e.tags.some((t) => t[0] === 'p' && f['#p']?.includes(t[1] as string))) &&
        (!f['#d'] || e.tags.some((t) => t[0] === 'd' && f['#d']?.includes(t[1] as string)))
    )
    matching.sort((a, b) => b.created_at - a.created_at)
    matching.slice(0, f.limit ?? matching.length).forEach(onevent)
    return { ready: Promise.resolve(), close: () => undefined }
  }
} as unknown as RelayPool

describe('a flood of newer sybil events', () => {
  test("does not push the graph's reports or vouches out of a subject's bucket", async () => {
    const got = (await collectSubjects(generous, [subject], graph)).get(subject)
    const reports = new Set(got?.reports.map((e) => e.id))
    const declarations = new Set(got?.declarations.map((e) => e.id))
    expect(inGraphReports.filter((e) => !reports.has(e.id))).toEqual([])
    expect(inGraphVouches.filter((e) => !declarations.has(e.id))).toEqual([])
    expect(got?.reports.length).toBeLessThanOrEqual(MAX_SIGNAL_EVENTS)
    expect(got?.declarations.length).toBeLessThanOrEqual(MAX_SIGNAL_EVENTS)
  })
})
