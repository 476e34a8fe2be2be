// Hostile review of issue 13: signals a stranger mints for nothing that the score still counts. The
// bar is one vouch from a key the viewer follows (100 points): nothing a provider can make alone,
// with keys nobody in the viewer's graph knows, should be worth as much.
//
// - A review's "proof of payment" is an invoice and its preimage. Both are the payee's own: the
//   provider signs the invoice, picks the preimage, and needs no payment at all to hand them to a
//   fresh key of its own, which then publishes a "verified" review. Each such review adds 5 points
//   to `jobs` without bound, and weighs 0.5 in the rating.
// - A zap receipt is signed by the provider's own LNURL server when it runs one: a single receipt
//   for 10^12 sats from a fresh key adds 10 × log10(0.1 × 10^12) = 110 points.

import { describe, expect, test } from 'vitest'
import { computeReputation } from '@2020117/reputation'
import { events, follows, jobId, jobInvoice, key, opts, review, vouch, zap, type Key } from './fixtures.js'

const ONE_FOLLOW_VOUCH = computeReputation(events({ declarations: [vouch(follows[0] as Key)] }), opts).score

describe('signals a provider mints alone', () => {
  test('20 self-issued "verified" reviews from fresh keys weigh less than one vouch from a follow', () => {
    const sybilReviews = Array.from({ length: 20 }, () => {
      const sybil = key()
      const id = jobId()
      // The provider's own invoice naming its own fresh key as the payer, and its own preimage: no
      // payment was ever made.
      return review(sybil, { id, proof: jobInvoice(id, { payer: sybil, amountMsat: 1 }) })
    })
    const forged = computeReputation(events({ reviews: sybilReviews }), opts)
    expect(ONE_FOLLOW_VOUCH).toBe(100)
    expect(forged.score).toBeLessThan(ONE_FOLLOW_VOUCH)
  })

  test('one zap receipt from a fresh key, signed by the provider’s own LNURL server, weighs less than one vouch', () => {
    // The fixtures' `server` is the LNURL server named in the provider's lud16: the provider's own.
    const forged = computeReputation(events({ zaps: [zap(key(), { amountMsat: 1e15 })] }), opts)
    expect(forged.score).toBeLessThan(ONE_FOLLOW_VOUCH)
  })
})
