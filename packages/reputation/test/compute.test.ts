// The reading side on honest signals: the viewer's graph and its bounds, each signal counted with
// its evidence, the terms equal to score() on the counts, and the bounds of SPEC §11.5.

import { describe, expect, test } from 'vitest'
import { MAX_SIGNAL_EVENTS } from '@2020117/protocol'
import { buildGraph, computeReputation, lud16Of, score, type SubjectEvents } from '@2020117/reputation'
import {
  contactList,
  events,
  follows,
  fofs,
  graph,
  jobId,
  key,
  NOW,
  opts,
  other,
  provider,
  report,
  review,
  sign,
  viewer,
  vouch,
  zap,
  type Key
} from './fixtures.js'

const follow = follows[0] as Key
const rate = (e: Partial<SubjectEvents>, o: Partial<typeof opts> = {}) =>
  computeReputation(events(e), { ...opts, ...o })

describe('buildGraph', () => {
  test('the viewer, its follows and their follows, from each one’s newest valid list', () => {
    expect([...graph.follows].sort()).toEqual(follows.map((f) => f.pk).sort())
    expect(graph.members.size).toBe(1 + follows.length + fofs.length)
    expect(graph.members.has(viewer.pk)).toBe(true)
    const older = sign(viewer, 3, [['p', other.pk]], '', NOW - 10)
    const forged = { ...sign(viewer, 3, [['p', provider.pk]], '', NOW + 10), sig: 'ff'.repeat(64) }
    const g = buildGraph(viewer.pk, { contacts: [older, forged, contactList(viewer, [follow])], serviceLists: [] })
    expect([...g.follows]).toEqual([follow.pk])
  })

  test('an anonymous viewer has an empty graph, and a list by another author is not the viewer’s', () => {
    expect(buildGraph(null, { contacts: [contactList(viewer, follows)], serviceLists: [] }).members.size).toBe(0)
    const g = buildGraph(viewer.pk, { contacts: [contactList(other, follows)], serviceLists: [] })
    expect([...g.members]).toEqual([viewer.pk])
  })

  test('the services come from the viewer’s newest valid kind 10040', () => {
    const service = key()
    const list = sign(viewer, 10040, [['30382:rank', service.pk, 'ws://127.0.0.1:1']])
    const g = buildGraph(viewer.pk, { contacts: [], serviceLists: [list] })
    expect([...g.services]).toEqual([service.pk])
  })
})

describe('lud16Of', () => {
  test('the lud16 of the subject’s newest valid kind 0', () => {
    const old = sign(provider, 0, [], JSON.stringify({ lud16: 'old@127.0.0.1' }), NOW - 10)
    const now = sign(provider, 0, [], JSON.stringify({ lud16: 'alice@127.0.0.1:8080' }))
    expect(lud16Of(provider.pk, [old, now])).toBe('alice@127.0.0.1:8080')
    expect(lud16Of(provider.pk, [sign(other, 0, [], JSON.stringify({ lud16: 'x@y' }), NOW + 10), old])).toBe(
      'old@127.0.0.1'
    )
    expect(lud16Of(provider.pk, [sign(provider, 0, [], 'not json')])).toBe(null)
    expect(lud16Of(provider.pk, [sign(provider, 0, [], JSON.stringify({ lud16: 'a\u001b[2Jb@x' }))])).toBe(null)
  })
})

describe('computeReputation', () => {
  test('every signal counted, with its evidence, and the terms are score() of the counts', () => {
    const vouches = [vouch(follow), vouch(fofs[0] as Key), vouch(key())]
    const zaps = [zap(follow, { amountMsat: 100_000_000 }), zap(key(), { amountMsat: 100_000_000 })]
    const reviews = [review(follow), review(key(), { rating: 4 }), review(fofs[1] as Key, { proof: null })]
    const reports = [report(key())]
    const r = rate({ declarations: vouches, zaps, reviews, reports })
    expect(r.wot).toEqual({ trustedBy: 3, trustedByYourFollows: 1, trustedByYourGraph: 2 })
    expect(r.zaps).toEqual({ totalSats: 200_000, count: 2, inGraphSats: 100_000 })
    // The stranger's verified review is shown and weighs nothing: it neither moves avg nor counts a job.
    expect(r.reviews).toEqual({ verified: 2, unverified: 1, avg: 5 })
    expect(r.reports).toEqual({ inGraph: 0, total: 1, flagged: false })
    expect(r.jobsCompleted).toBe(1)
    const expected = score({
      vouchers: { follows: 1, graph: 1, outside: 1 },
      zapSats: { inGraph: 100_000, outside: 100_000 },
      reviews: [
        { rating: 5, verified: true, inGraph: true },
        { rating: 4, verified: true, inGraph: false },
        { rating: 5, verified: false, inGraph: true }
      ],
      jobsCompleted: 1
    })
    expect(r.terms).toEqual(expected.terms)
    expect(r.score).toBe(expected.score)
    expect(r.evidence.vouches.sort()).toEqual(vouches.map((v) => v.id).sort())
    expect(r.evidence.zaps.sort()).toEqual(zaps.map((z) => z.id).sort())
    expect(r.evidence.reviewsVerified.sort()).toEqual([reviews[0]?.id, reviews[1]?.id].sort())
    expect(r.evidence.reviewsUnverified).toEqual([reviews[2]?.id])
    expect(r.evidence.reports).toEqual([reports[0]?.id])
  })

  test('an author’s newest 30382 is the one that stands, and its newest review of one job', () => {
    const replaced = sign(
      follow,
      30382,
      [
        ['d', provider.pk],
        ['p', provider.pk],
        ['assertion', 'spam']
      ],
      '',
      NOW + 1
    )
    expect(rate({ declarations: [vouch(follow), replaced] }).wot.trustedBy).toBe(0)
    const id = jobId()
    const reviews = [review(follow, { id, rating: 5 }), review(follow, { id, rating: 1, createdAt: NOW + 1 })]
    expect(rate({ reviews }).reviews).toEqual({ verified: 1, unverified: 0, avg: 1 })
  })

  test('a NIP-32 label vouches, and a label deleted by its author does not', () => {
    const label = sign(fofs[0] as Key, 1985, [
      ['L', '2020117.trust'],
      ['l', 'trusted', '2020117.trust'],
      ['p', provider.pk]
    ])
    expect(rate({ declarations: [label] }).wot).toEqual({
      trustedBy: 1,
      trustedByYourFollows: 0,
      trustedByYourGraph: 1
    })
    const deletion = sign(fofs[0] as Key, 5, [['e', label.id]], '', NOW + 1)
    expect(rate({ declarations: [label], deletions: [deletion] }).wot.trustedBy).toBe(0)
  })

  test('NIP-85 ranks are read only from the viewer’s services, shown and not scored', () => {
    const service = key()
    const list = sign(viewer, 10040, [['30382:rank', service.pk, 'ws://127.0.0.1:1']])
    const g = buildGraph(viewer.pk, { contacts: [contactList(viewer, follows)], serviceLists: [list] })
    const ranked = sign(service, 30382, [
      ['d', provider.pk],
      ['rank', '87']
    ])
    const stranger = sign(key(), 30382, [
      ['d', provider.pk],
      ['rank', '99']
    ])
    const r = rate({ declarations: [ranked, stranger] }, { graph: g })
    expect(r.assertions).toEqual([{ service: service.pk, rank: 87 }])
    expect(r.evidence.assertions).toEqual([ranked.id])
    expect(r.score).toBe(0)
    expect(r.wot.trustedBy).toBe(0)
  })

  test(`at most MAX_SIGNAL_EVENTS (${MAX_SIGNAL_EVENTS}) events of one category are considered`, () => {
    const flood = Array.from({ length: MAX_SIGNAL_EVENTS }, () => null) as unknown as SubjectEvents['reports']
    expect(rate({ reports: [...flood.slice(1), report(key())] }).reports.total).toBe(1)
    expect(rate({ reports: [...flood, report(key())] }).reports.total).toBe(0)
  })

  test('a report of a type outside REPORT_TYPES still counts, as other', () => {
    expect(rate({ reports: [report(follow, 'weird')] }).reports.inGraph).toBe(1)
  })
})
