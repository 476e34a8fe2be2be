// The hostile-signals suite (issue 13): every forgery a stranger can publish for free, built for real
// (signed events, signed BOLT11 invoices), and each must count as nothing. Every test shows the
// honest signal beside it counting, so that each fails when the check it covers is removed.

import { describe, expect, test } from 'vitest'
import { verifyEvent } from 'nostr-tools/pure'
import { computeReputation, type Reputation, type SubjectEvents } from '@2020117/reputation'
import {
  zapRequestOf,
  events,
  follows,
  fofs,
  jobId,
  jobInvoice,
  key,
  NOW,
  opts,
  other,
  provider,
  report,
  review,
  revocation,
  server,
  sign,
  vouch,
  zap,
  type Key
} from './fixtures.js'

const follow = follows[0] as Key
const rate = (e: Partial<SubjectEvents>, o: Partial<typeof opts> = {}): Reputation =>
  computeReputation(events(e), { ...opts, ...o })

describe('forged zaps count as nothing', () => {
  test('a receipt signed by a key other than the LNURL server', () => {
    expect(rate({ zaps: [zap(follow)] }).zaps.count).toBe(1)
    const forged = rate({ zaps: [zap(follow, { signer: key() })] })
    expect(forged.zaps).toEqual({ totalSats: 0, count: 0, inGraphSats: 0 })
    expect(forged.terms.zaps).toBe(0)
  })

  test('no zap counts when the LNURL server is not known', () => {
    expect(rate({ zaps: [zap(follow)] }).zaps.count).toBe(1)
    expect(rate({ zaps: [zap(follow)] }, { lnurlNostrPubkey: null }).zaps.count).toBe(0)
  })

  test('a receipt whose amount disagrees with its bolt11', () => {
    expect(rate({ zaps: [zap(follow, { amountMsat: 1_000_000 })] }).zaps.totalSats).toBe(1000)
    const forged = rate({ zaps: [zap(follow, { amountMsat: 1_000_000, invoiceMsat: 1_000 })] })
    expect(forged.zaps.count).toBe(0)
  })

  test('a self-zap', () => {
    expect(rate({ zaps: [zap(other)] }).zaps.count).toBe(1)
    expect(rate({ zaps: [zap(provider)] }).zaps.count).toBe(0)
  })

  test('duplicate receipts count once', () => {
    const one = zap(follow, { amountMsat: 10_000_000 })
    const again = sign(server, 9735, one.tags, '', NOW + 5) // a second receipt for the same payment
    const counted = rate({ zaps: [one, { ...one }, again, zap(fofs[0] as Key, { amountMsat: 10_000_000 })] })
    expect(counted.zaps).toEqual({ totalSats: 20_000, count: 2, inGraphSats: 20_000 })
    expect(counted.evidence.zaps).toEqual([one.id, counted.evidence.zaps[1]])
  })

  test('a zap on another network than the viewer’s', () => {
    expect(rate({ zaps: [zap(follow, { network: 'bitcoin' })] }, { network: 'bitcoin' }).zaps.count).toBe(1)
    expect(rate({ zaps: [zap(follow, { network: 'regtest' })] }, { network: 'bitcoin' }).zaps.count).toBe(0)
  })
  test("a graph member's one zap request, carried again in a receipt for another invoice, counts once", () => {
    const one = zap(follow, { amountMsat: 10_000_000 })
    const again = zap(follow, { amountMsat: 10_000_000, request: zapRequestOf(one) })
    expect(rate({ zaps: [again] }).zaps.count).toBe(1)
    expect(rate({ zaps: [one, again] }).zaps).toEqual({ totalSats: 10_000, count: 1, inGraphSats: 10_000 })
  })

  test("a graph member's zap request without an amount weighs as a stranger's: the server chose the invoice's", () => {
    const committed = rate({ zaps: [zap(follow, { amountMsat: 1_000_000 })] })
    expect(committed.zaps.inGraphSats).toBe(1000)
    const open = rate({ zaps: [zap(follow, { amountMsat: 1_000_000, noAmount: true })] })
    expect(open.zaps).toEqual({ totalSats: 1000, count: 1, inGraphSats: 0 })
    expect(open.terms.zaps).toBe(0)
  })
})

describe('forged reviews are not verified', () => {
  test('a review without proof', () => {
    const honest = rate({ reviews: [review(follow)] })
    expect(honest.reviews).toEqual({ verified: 1, unverified: 0, avg: 5 })
    expect(honest.jobsCompleted).toBe(1)
    const bare = rate({ reviews: [review(follow, { proof: null })] })
    expect(bare.reviews).toEqual({ verified: 0, unverified: 1, avg: 5 })
    expect(bare.jobsCompleted).toBe(0)
    expect(bare.terms.jobs).toBe(0)
  })

  test('a review with proof for another provider', () => {
    const id = jobId()
    expect(rate({ reviews: [review(follow, { id, proof: jobInvoice(id) })] }).reviews.verified).toBe(1)
    const forged = rate({ reviews: [review(follow, { id, proof: jobInvoice(id, { payee: other }) })] })
    expect(forged.reviews.verified).toBe(0)
    expect(forged.jobsCompleted).toBe(0)
  })

  test('a review whose preimage does not match its invoice', () => {
    const id = jobId()
    const proof = jobInvoice(id)
    expect(rate({ reviews: [review(follow, { id, proof })] }).reviews.verified).toBe(1)
    const forged = rate({ reviews: [review(follow, { id, proof, preimage: 'ab'.repeat(32) })] })
    expect(forged.reviews.verified).toBe(0)
  })

  test('a review with a regtest proof for a bitcoin viewer', () => {
    const id = jobId()
    const mainnet = review(follow, { id, proof: jobInvoice(id, { network: 'bitcoin' }) })
    expect(rate({ reviews: [mainnet] }, { network: 'bitcoin' }).reviews.verified).toBe(1)
    const regtest = review(follow, { id, proof: jobInvoice(id) })
    expect(rate({ reviews: [regtest] }, { network: 'bitcoin' }).reviews.verified).toBe(0)
  })

  test('a proof copied into a second review backs only the first', () => {
    const id = jobId()
    const proof = jobInvoice(id)
    const first = review(follow, { id, proof, createdAt: NOW })
    const copy = review(follows[1] as Key, { id, proof, createdAt: NOW + 60 })
    const counted = rate({ reviews: [copy, first] })
    expect(counted.evidence.reviewsVerified).toEqual([first.id])
    expect(counted.evidence.reviewsUnverified).toEqual([copy.id])
  })

  test("a proof copied into another author's review, even one dated earlier, does not verify it: the invoice names its payer", () => {
    const id = jobId()
    const proof = jobInvoice(id, { payer: follow })
    const payers = review(follow, { id, proof, createdAt: NOW })
    const thief = review(follows[1] as Key, { id, proof, rating: 1, createdAt: NOW - 3600 })
    const counted = rate({ reviews: [thief, payers] })
    expect(counted.evidence.reviewsVerified).toEqual([payers.id])
    expect(counted.evidence.reviewsUnverified).toEqual([thief.id])
  })

  test('a review by the provider itself, and one that names two providers', () => {
    expect(rate({ reviews: [review(follow)] }).reviews.verified).toBe(1)
    const self = rate({ reviews: [review(provider)] })
    expect(self.reviews).toEqual({ verified: 0, unverified: 0, avg: null })
    const two = rate({ reviews: [review(follow, { p: [provider.pk, other.pk] })] })
    expect(two.reviews.verified + two.reviews.unverified).toBe(0)
  })
})

describe('reports flag only from the graph', () => {
  test('50 sybil keys outside the graph leave an honest provider unflagged; 3 in the graph flag it', () => {
    const sybils = Array.from({ length: 50 }, () => report(key()))
    const r = rate({ reports: sybils })
    expect(r.reports).toEqual({ inGraph: 0, total: 50, flagged: false })
    expect(r.flagged).toBe(false)
    const three = [report(follow), report(follows[1] as Key), report(fofs[0] as Key)]
    expect(rate({ reports: [...sybils, ...three] }).reports).toEqual({ inGraph: 3, total: 53, flagged: true })
  })

  test('one reporter counts once, however many reports it sends', () => {
    const twice = [report(follow), report(follow, 'malware'), report(follows[1] as Key), report(follows[2] as Key)]
    expect(rate({ reports: twice }).flagged).toBe(true)
    const same = [report(follow), report(follow, 'malware'), report(follow, 'illegal'), report(follows[1] as Key)]
    expect(rate({ reports: same }).reports).toEqual({ inGraph: 2, total: 2, flagged: false })
  })

  test('a deleted report, and a report by the provider itself, drop', () => {
    const reports = [report(follow), report(follows[1] as Key), report(follows[2] as Key)]
    expect(rate({ reports }).flagged).toBe(true)
    const deletion = sign(follow, 5, [['e', (reports[0] as { id: string }).id]])
    const forged = sign(other, 5, [['e', (reports[0] as { id: string }).id]])
    expect(rate({ reports, deletions: [forged] }).reports.inGraph).toBe(3)
    expect(rate({ reports, deletions: [deletion] }).reports.inGraph).toBe(2)
    const self = rate({ reports: [report(follow), report(follows[1] as Key), report(provider)] })
    expect(self.reports).toEqual({ inGraph: 2, total: 2, flagged: false })
  })
})

describe('forged vouches count as nothing', () => {
  test('a revoked vouch, and a vouch made again after the revocation', () => {
    const v = vouch(follow, { createdAt: NOW })
    expect(rate({ declarations: [v] }).terms.trust).toBe(100)
    const revoked = rate({ declarations: [v], deletions: [revocation(follow, { createdAt: NOW + 10 })] })
    expect(revoked.wot.trustedBy).toBe(0)
    expect(revoked.terms.trust).toBe(0)
    const again = vouch(follow, { createdAt: NOW + 20 })
    const revouched = rate({ declarations: [v, again], deletions: [revocation(follow, { createdAt: NOW + 10 })] })
    expect(revouched.terms.trust).toBe(100)
    expect(revouched.evidence.vouches).toEqual([again.id])
  })

  test('a revocation by another key revokes nothing', () => {
    const forged = sign(other, 5, [['a', `30382:${follow.pk}:${provider.pk}`]], '', NOW + 10)
    expect(rate({ declarations: [vouch(follow)], deletions: [forged] }).terms.trust).toBe(100)
  })

  test('a vouch by the subject itself', () => {
    expect(rate({ declarations: [vouch(follow)] }).wot.trustedBy).toBe(1)
    const self = rate({ declarations: [vouch(provider)] })
    expect(self.wot).toEqual({ trustedBy: 0, trustedByYourFollows: 0, trustedByYourGraph: 0 })
  })

  test('one author vouches once, in whatever form', () => {
    const label = sign(follow, 1985, [
      ['L', '2020117.trust'],
      ['l', 'trusted', '2020117.trust'],
      ['p', provider.pk]
    ])
    const r = rate({ declarations: [vouch(follow), vouch(follow, { createdAt: NOW - 5 }), label] })
    expect(r.wot.trustedBy).toBe(1)
    expect(r.terms.trust).toBe(100)
  })
})

describe('events that do not verify count as nothing', () => {
  test('an event with a bad signature', () => {
    const v = vouch(follow)
    expect(rate({ declarations: [v] }).wot.trustedBy).toBe(1)
    const badSig = { ...v, sig: (v.sig[0] === '0' ? '1' : '0') + v.sig.slice(1) }
    expect(rate({ declarations: [badSig] }).wot.trustedBy).toBe(0)
    const retargeted = { ...vouch(follow, { target: other.pk }), tags: v.tags }
    expect(rate({ declarations: [retargeted] }).wot.trustedBy).toBe(0)
  })

  test('an event verified once and changed after is checked again', () => {
    expect(rate({ declarations: [vouch(follow)] }).wot.trustedBy).toBe(1)
    const v = vouch(follow, { target: other.pk })
    expect(verifyEvent(v)).toBe(true) // nostr-tools caches this verdict on the object
    v.tags = [
      ['d', provider.pk],
      ['p', provider.pk],
      ['assertion', 'trusted']
    ]
    expect(rate({ declarations: [v] }).wot.trustedBy).toBe(0)
  })

  test(`an event with more tags than the bound`, () => {
    expect(rate({ declarations: [vouch(follow, { extraTags: 97 })] }).wot.trustedBy).toBe(1)
    expect(rate({ declarations: [vouch(follow, { extraTags: 98 })] }).wot.trustedBy).toBe(0)
  })

  test('an event of another kind', () => {
    const v = vouch(follow)
    expect(rate({ declarations: [sign(follow, 30382, v.tags)] }).wot.trustedBy).toBe(1)
    const asLabel = sign(follow, 30383, v.tags)
    expect(rate({ declarations: [asLabel] }).wot.trustedBy).toBe(0)
  })
})
