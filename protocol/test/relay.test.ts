// SPEC §12: the relay policy both the relay and its clients read. The vectors fix the committed-
// target rule; the SPEC's list of accepted kinds must be RELAY_ACCEPTED_KINDS; a stranger's NIP-11
// document is read within bounds and never throws.

import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import {
  MAX_KIND_ENTRIES,
  MAX_POW_RULES,
  RELAY_ACCEPTED_KINDS,
  RELAY_POW_DEFAULTS,
  committedPowBits,
  formatKindRanges,
  kindInRanges,
  parseKindRanges,
  powBitsFor,
  relayInfoUrl,
  relayPolicyFromInfo,
  relayPolicyInfo,
  requiredPowBits,
  type RelayPolicy
} from '../src/index.js'

const vectors = JSON.parse(readFileSync(new URL('../vectors/relay-pow.json', import.meta.url), 'utf8')) as {
  events: Array<{ name: string; event: { id: string; tags: string[][] }; committed_bits: number }>
  default_prices: Array<{ kind: number; bits: number }>
}
const spec = readFileSync(new URL('../SPEC.md', import.meta.url), 'utf8')

test('committed proof of work: each vector', () => {
  for (const v of vectors.events) expect(committedPowBits(v.event), v.name).toBe(v.committed_bits)
  const byName = Object.fromEntries(vectors.events.map((v) => [v.name, v.committed_bits]))
  // What the names promise, so that regenerated vectors cannot quietly change the rule.
  expect(byName['mined to 10 bits, commits to 10']).toBe(10)
  expect(byName['mined to 10 bits, commits to only 8']).toBe(8)
  expect(byName['zero by luck, no nonce tag']).toBe(0)
  expect(byName['nonce tag without a target']).toBe(0)
  expect(byName['target that is not a decimal number']).toBe(0)
  expect(byName['commits to 20, mined to 10: the id is what it is']).toBeLessThan(20)
})

test('the default prices: social 20 bits, job requests 10, the rest free', () => {
  for (const { kind, bits } of vectors.default_prices)
    expect(powBitsFor(RELAY_POW_DEFAULTS, kind), `kind ${kind}`).toBe(bits)
  expect(vectors.default_prices.find((p) => p.kind === 0)?.bits).toBe(20)
  expect(vectors.default_prices.find((p) => p.kind === 5100)?.bits).toBe(10)
  expect(vectors.default_prices.find((p) => p.kind === 7000)?.bits).toBe(0)
})

test('SPEC §12.1 lists exactly RELAY_ACCEPTED_KINDS', () => {
  const start = spec.indexOf('### 12.1 Accepted kinds')
  const text = spec.slice(start, spec.indexOf('\n### ', start + 10))
  const listed = [...text.matchAll(/`(\d+)`(?:–`(\d+)`)?/g)].map((m) => (m[2] ? `${m[1]}-${m[2]}` : m[1]))
  expect(listed.join(',')).toBe(formatKindRanges(RELAY_ACCEPTED_KINDS))
})

test('kind ranges parse, format and match', () => {
  const ranges = parseKindRanges('0, 1,5000-5999,7000')
  expect(ranges).toEqual([0, 1, [5000, 5999], 7000])
  expect(formatKindRanges(ranges)).toBe('0,1,5000-5999,7000')
  expect(kindInRanges(5999, ranges)).toBe(true)
  expect(kindInRanges(6000, ranges)).toBe(false)
  for (const bad of ['', 'x', '5999-5000', '70000', '1-', '-1'])
    expect(() => parseKindRanges(bad), bad).toThrow(TypeError)
})

test('a policy survives its own NIP-11 document', () => {
  const policy: RelayPolicy = {
    minPow: 2,
    pow: RELAY_POW_DEFAULTS,
    acceptedKinds: RELAY_ACCEPTED_KINDS,
    authRequired: false,
    authWrites: true
  }
  const read = relayPolicyFromInfo(JSON.parse(JSON.stringify(relayPolicyInfo(policy))))
  expect(read).toEqual({ ...policy, pow: RELAY_POW_DEFAULTS.map((r) => ({ kinds: [...r.kinds], bits: r.bits })) })
  expect(requiredPowBits(read, 7000)).toBe(2)
  expect(requiredPowBits(read, 5100)).toBe(10)
})

test("a stranger's NIP-11 document is read within bounds and never throws", () => {
  for (const doc of [null, 7, 'x', [], { limitation: [] }, { pow_by_kind: 'x' }, { pow_by_kind: [null, 1] }]) {
    expect(relayPolicyFromInfo(doc)).toEqual({
      minPow: 0,
      pow: [],
      acceptedKinds: null,
      authRequired: false,
      authWrites: false
    })
  }
  const hostile = relayPolicyFromInfo({
    limitation: { min_pow_difficulty: 1e9, auth_required: 'yes' },
    auth_writes: 1,
    pow_by_kind: [
      { kinds: [5100], bits: 300 },
      { kinds: [[6000, 5000], -1, 1.5, 70000], bits: 5 },
      ...Array.from({ length: MAX_POW_RULES * 2 }, () => ({ kinds: [1], bits: 1 }))
    ],
    accepted_kinds: Array.from({ length: MAX_KIND_ENTRIES * 4 }, (_, i) => i)
  })
  expect(hostile.minPow).toBe(0)
  expect(hostile.authRequired).toBe(false)
  expect(hostile.authWrites).toBe(false)
  expect(hostile.pow.length).toBeLessThanOrEqual(MAX_POW_RULES)
  expect(hostile.pow.every((r) => r.bits === 1)).toBe(true)
  expect(hostile.acceptedKinds).toHaveLength(MAX_KIND_ENTRIES)
})

test('the NIP-11 address of a relay', () => {
  expect(relayInfoUrl('ws://127.0.0.1:7447')).toBe('http://127.0.0.1:7447/')
  expect(relayInfoUrl('wss://relay.example/nostr')).toBe('https://relay.example/nostr')
  expect(() => relayInfoUrl('http://127.0.0.1')).toThrow(TypeError)
})
