// Hostile review of issue 13: the deletions of every author of a subject's reports and vouches were
// asked for, 200 authors a query, and each query whose answer looked cut (100 events or more) was
// asked again once per author. A flagged provider's sybils (one report each, and 100 kind 5s
// among each 200) turned one rating into thousands of relay queries, six at a time: the rating
// then misses its bound (2020117-job waits 5 s), reads as unrated, and an unrated provider is not
// flagged, so it is paid. A deletion only revokes its own author's event, and only the graph's
// events weigh: only the graph's authors are worth asking one by one.

import { describe, expect, test } from 'vitest'
import type { Event, Filter } from 'nostr-tools'
import type { RelayPool } from '@2020117/nostr'
import { kinds } from '@2020117/protocol'
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
let n = 0
const stub = (kind: number, pubkey: string, tags: string[][]): Event => ({
  id: hex(++n, 'c'),
  pubkey,
  kind,
  created_at: T0 + n,
  tags,
  content: '',
  sig: ''
})

const reports = [f1, f2, f3].map((p) => stub(kinds.Report, p, [['p', subject, 'spam']]))
const sybils = Array.from({ length: 2000 }, (_, i) => hex(i, 'd'))
const sybilReports = sybils.map((p) => stub(kinds.Report, p, [['p', subject, 'other']]))
// Each sybil has deleted something of its own: a deletion query over sybils always looks cut.
const sybilDeletions = new Map(sybils.map((p) => [p, Array.from({ length: 100 }, () => stub(kinds.Deletion, p, []))]))

let queries = 0
const relay = {
  relays: ['ws://127.0.0.1:1'],
  subscribe: (f: Filter, onevent: (e: Event) => void) => {
    queries++
    const found = f.kinds?.includes(kinds.Deletion)
      ? (f.authors ?? []).flatMap((a) => sybilDeletions.get(a) ?? [])
      : f.kinds?.includes(kinds.Report)
        ? [...reports, ...sybilReports].filter((e) => !f.authors || f.authors.includes(e.pubkey))
        : []
    found.slice(0, Math.min(f.limit ?? 500, 500)).forEach(onevent)
    return { ready: Promise.resolve(), close: () => undefined }
  }
} as unknown as RelayPool

describe("a subject's deletions", () => {
  test('cost a bounded number of relay queries, however many sybils reported it', async () => {
    const got = (await collectSubjects(relay, [subject], graph)).get(subject)
    expect(got?.reports.map((e) => e.pubkey)).toEqual(expect.arrayContaining([f1, f2, f3]))
    expect(queries).toBeLessThanOrEqual(50)
  })
})
