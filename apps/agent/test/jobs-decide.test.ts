// The intake rules on their own (src/jobs/intake.ts, SPEC §10.3): which request is taken, left
// alone or refused, in the order the issue fixes. The devnet relay refuses expired events, so the
// expiry rule is tested here rather than end to end.

import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { expect, test } from 'vitest'
import { buildRequest, encryptFor } from '@2020117/jobs'
import { finalizeEvent } from 'nostr-tools/pure'
import { decide } from '../src/jobs/intake.js'

const providerKey = generateSecretKey()
const terms = {
  pubkey: getPublicKey(providerKey),
  secretKey: providerKey,
  priceMsat: () => 2000,
  imageOutput: (kind: number) => kind === 5100
}
const customerKey = generateSecretKey()
const now = Math.floor(Date.now() / 1000)
const inputs = [{ data: 'hi', type: 'text' as const }]

test('an expired request is left alone, addressed or not; one expiring later is taken', () => {
  const expired = buildRequest({ kind: 5302, inputs, provider: terms.pubkey, expiration: now - 1 }, customerKey)
  expect(decide(expired, terms, now)).toMatchObject({ act: 'ignore', why: 'expired' })
  const later = buildRequest({ kind: 5302, inputs, expiration: now + 60 }, customerKey)
  expect(decide(later, terms, now)).toMatchObject({ act: 'accept', addressed: false, priceMsat: 2000 })
})

test('addressed to others: ignored; addressed to us among others: taken', () => {
  const other = getPublicKey(generateSecretKey())
  expect(decide(buildRequest({ kind: 5302, inputs, provider: other }, customerKey), terms, now).act).toBe('ignore')
  const both = finalizeEvent(
    {
      kind: 5302,
      created_at: now,
      tags: [
        ['i', 'hi', 'text'],
        ['p', other],
        ['p', terms.pubkey]
      ],
      content: ''
    },
    customerKey
  )
  expect(decide(both, terms, now)).toMatchObject({ act: 'accept', addressed: true })
})

test('a request without a bid is offered the price; a bid equal to it is enough', () => {
  expect(decide(buildRequest({ kind: 5302, inputs }, customerKey), terms, now).act).toBe('accept')
  expect(decide(buildRequest({ kind: 5302, inputs, bidMsat: 2000 }, customerKey), terms, now).act).toBe('accept')
})

test('the bid of an encrypted request is read after decryption', () => {
  const low = buildRequest({ kind: 5302, inputs, bidMsat: 1000, provider: terms.pubkey, encrypt: 'nip44' }, customerKey)
  const d = decide(low, terms, now)
  expect(d.act).toBe('refuse')
  if (d.act === 'refuse') expect(d.failure.text).toMatch(/^BID_TOO_LOW: /)
})

test('undecryptable, oversized or malformed: refused when addressed to us, ignored when not', () => {
  const garbage = finalizeEvent(
    {
      kind: 5302,
      created_at: now,
      tags: [['p', terms.pubkey], ['encrypted']],
      content: encryptFor('nip44', customerKey, getPublicKey(generateSecretKey()), '[]')
    },
    customerKey
  )
  const u = decide(garbage, terms, now)
  expect(u.act === 'refuse' && u.failure.reason).toBe('UNDECRYPTABLE')
  const huge = finalizeEvent(
    {
      kind: 5302,
      created_at: now,
      tags: [
        ['i', 'x'.repeat(70_000), 'text'],
        ['p', terms.pubkey]
      ],
      content: ''
    },
    customerKey
  )
  const h = decide(huge, terms, now)
  expect(h.act === 'refuse' && h.failure.reason).toBe('INPUT_TOO_LARGE')
  const broadcastHuge = finalizeEvent(
    { kind: 5302, created_at: now, tags: [['i', 'x'.repeat(70_000), 'text']], content: '' },
    customerKey
  )
  expect(decide(broadcastHuge, terms, now).act).toBe('ignore')
})

test('a forged request (bad signature) is never answered, even addressed to us', () => {
  const event = buildRequest({ kind: 5302, inputs, provider: terms.pubkey }, customerKey)
  const forged = { ...event, tags: [...event.tags, ['i', 'x'.repeat(70_000), 'text']] }
  expect(decide(forged, terms, now).act).toBe('ignore')
})

test('an encrypted request whose output would be an image is refused before any invoice; in clear it is taken', () => {
  const sealed = buildRequest({ kind: 5100, inputs, provider: terms.pubkey, encrypt: 'nip44' }, customerKey)
  const d = decide(sealed, terms, now)
  expect(d.act === 'refuse' && d.failure.reason).toBe('OUTPUT_TOO_LARGE')
  if (d.act === 'refuse') expect(d.failure.text).toMatch(/image.*public|public.*image/)
  expect(decide(buildRequest({ kind: 5100, inputs, provider: terms.pubkey }, customerKey), terms, now).act).toBe(
    'accept'
  )
  const text = buildRequest({ kind: 5302, inputs, provider: terms.pubkey, encrypt: 'nip04' }, customerKey)
  expect(decide(text, terms, now).act).toBe('accept')
})
