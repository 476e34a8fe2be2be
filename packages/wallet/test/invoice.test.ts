// The BOLT #11 reader rules, one by one: the spec's own examples (bolt11-vectors.json, valid and
// invalid), then invoices built field by field for the rules the spec has no example of.

import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import bolt11 from 'bolt11'
import {
  decodeInvoice,
  invoiceNetwork,
  knownNetwork,
  walletNetworkName,
  WalletError,
  type InvoiceInvalidReason,
  type NetworkName
} from '../src/index.js'
import { featureWords, signInvoice, NODE_B, rawInvoice, words, type RawField } from '@2020117/testkit'

interface Vectors {
  valid: Array<{
    name: string
    invoice: string
    expect: Record<string, unknown> & { hashedDescription: string | null }
  }>
  invalid: Array<{ name: string; invoice: string; reason: InvoiceInvalidReason }>
}
const vectors = JSON.parse(readFileSync(new URL('./bolt11-vectors.json', import.meta.url), 'utf8')) as Vectors

function reasonOf(invoice: string, opts?: Parameters<typeof decodeInvoice>[1]): string {
  try {
    decodeInvoice(invoice, opts)
  } catch (err) {
    expect(err).toBeInstanceOf(WalletError)
    expect((err as WalletError).code).toBe('INVOICE_INVALID')
    return (err as WalletError).reason ?? 'no reason'
  }
  return 'accepted'
}

describe('the examples of BOLT #11', () => {
  test.each(vectors.valid)('reads "$name"', ({ invoice, expect: want }) => {
    const { hashedDescription, ...fields } = want
    const d = decodeInvoice(invoice, hashedDescription === null ? {} : { hashedDescription })
    expect(d).toMatchObject(fields)
    expect(d.descriptionHash).toBe(
      hashedDescription === null ? null : createHash('sha256').update(hashedDescription).digest('hex')
    )
  })

  test.each(vectors.invalid)('refuses "$name" ($reason)', ({ invoice, reason }) => {
    expect(reasonOf(invoice)).toBe(reason)
  })
})

const KEY_N = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad' // the key of NODE_A
const p = (): RawField => [1, words.hex(randomBytes(32).toString('hex'))]
const s = (): RawField => [16, words.hex('11'.repeat(32))]
const d = (text = 'coffee beans'): RawField => [13, words.text(text)]
const h = (): RawField => [23, words.hex(createHash('sha256').update('a long description').digest('hex'))]
const features = (...bits: number[]): RawField => [5, featureWords(bits)]
const good = (): RawField[] => [p(), d(), s(), features(8, 14)]

describe('reader rules the examples do not cover, on invoices built field by field', () => {
  test('the builder makes invoices that pass', () => {
    expect(reasonOf(rawInvoice(good()))).toBe('accepted')
  })

  const cases: Array<[string, () => RawField[], InvoiceInvalidReason | 'accepted']> = [
    ['no `p` field', () => [d(), s()], 'PAYMENT_HASH_MISSING'],
    ['a `p` field of 51 words', () => [[1, words.hex('00'.repeat(32)).slice(0, 51)], d(), s()], 'FIELD_LENGTH'],
    ['a `p` field of 53 words', () => [[1, [...words.hex('00'.repeat(32)), 0]], d(), s()], 'FIELD_LENGTH'],
    ['an `h` field of 51 words', () => [p(), [23, words.hex('00'.repeat(32)).slice(0, 51)], s()], 'FIELD_LENGTH'],
    ['an `s` field of 53 words', () => [p(), d(), [16, [...words.hex('11'.repeat(32)), 0]]], 'FIELD_LENGTH'],
    ['an `n` field of 52 words', () => [p(), d(), s(), [19, words.hex(KEY_N).slice(0, 52)]], 'FIELD_LENGTH'],
    ['two `p` fields (readers disagree on which one counts)', () => [p(), p(), d(), s()], 'DUPLICATE_FIELD'],
    ['two `s` fields', () => [p(), d(), s(), s()], 'DUPLICATE_FIELD'],
    ['two `x` fields', () => [p(), d(), s(), [6, words.int(60)], [6, words.int(3600)]], 'DUPLICATE_FIELD'],
    ['neither `d` nor `h`', () => [p(), s()], 'DESCRIPTION_FIELDS'],
    ['both `d` and `h`', () => [p(), d(), h(), s()], 'DESCRIPTION_FIELDS'],
    ['an `h` without `d`', () => [p(), h(), s()], 'accepted'],
    ['no `s` field, though payment_secret is required', () => [p(), d(), features(8, 14)], 'PAYMENT_SECRET_MISSING'],
    ['no `s` field and no features', () => [p(), d()], 'PAYMENT_SECRET_MISSING'],
    ['an unknown even feature bit 20', () => [...good().slice(0, 3), features(8, 14, 20)], 'FEATURE_REQUIRED_UNKNOWN'],
    [
      'an unknown even feature bit 256',
      () => [...good().slice(0, 3), features(8, 14, 256)],
      'FEATURE_REQUIRED_UNKNOWN'
    ],
    ['an unknown odd feature bit 101', () => [...good().slice(0, 3), features(8, 14, 101)], 'accepted'],
    ['known even feature bits 16 and 48', () => [...good().slice(0, 3), features(8, 14, 16, 48)], 'accepted'],
    ['basic_mpp without payment_secret', () => [...good().slice(0, 3), features(8, 17)], 'FEATURE_DEPENDENCY'],
    [
      'a `9` field that begins with a zero word',
      () => [...good().slice(0, 3), [5, [0, ...featureWords([8, 14])]]],
      'NON_MINIMAL_FIELD'
    ],
    ['an `x` field that begins with a zero word', () => [...good(), [6, [0, ...words.int(60)]]], 'NON_MINIMAL_FIELD'],
    ['a `c` field that begins with a zero word', () => [...good(), [24, [0, ...words.int(40)]]], 'NON_MINIMAL_FIELD'],
    ['a `c` of 5000 blocks', () => [...good(), [24, words.int(5000)]], 'FIELD_OUT_OF_RANGE'],
    ['an `x` of 8 words', () => [...good(), [6, [1, ...new Array(7).fill(0)]]], 'FIELD_OUT_OF_RANGE'],
    ['an `x` of 7 words', () => [...good(), [6, [1, ...new Array(6).fill(0)]]], 'accepted'],
    [
      'an `n` field that names another key',
      () => [...good(), [19, words.hex('02' + '11'.repeat(32))]],
      'PAYEE_MISMATCH'
    ],
    ['an `n` field that names the signer', () => [...good(), [19, words.hex(KEY_N)]], 'accepted'],
    ['an unknown field type 2', () => [...good(), [2, [0, 0, 0]]], 'accepted'],
    ['an `f` field of unknown version 19', () => [...good(), [9, [19, ...new Array(32).fill(0)]]], 'accepted']
  ]
  test.each(cases)('%s: %s', (_name, fields, want) => {
    expect(reasonOf(rawInvoice(fields()))).toBe(want)
  })

  test('a field that runs past the signature is malformed, not read short', () => {
    expect(reasonOf(rawInvoice([...good(), [13, words.text('hi'), 40]]))).toBe('MALFORMED')
  })

  test('a character outside printable ASCII is malformed, even the Kelvin sign, which lower-cases to "k"', () => {
    const upper = (vectors.valid.find((v) => /k/.test(v.invoice)) as { invoice: string }).invoice.toUpperCase()
    const kelvin = upper.replace('K', '\u212a')
    expect(kelvin.toLowerCase()).toBe(upper.toLowerCase())
    expect(() => decodeInvoice(kelvin)).toThrow(/\(MALFORMED\): it has characters outside printable ASCII/)
  })

  test('an amount in pico-bitcoin must be whole millisatoshis; other multipliers are read', () => {
    expect(reasonOf(rawInvoice(good(), { hrp: 'lnbc2500000001p' }))).toBe('AMOUNT_SUB_MSAT')
    expect(decodeInvoice(rawInvoice(good(), { hrp: 'lnbc2500000010p' })).amountMsat).toBe('250000001')
    expect(decodeInvoice(rawInvoice(good(), { hrp: 'lnbc25n' })).amountMsat).toBe('2500')
    expect(reasonOf(rawInvoice(good(), { hrp: 'lnbc25k' }))).toBe('AMOUNT_MALFORMED')
    expect(reasonOf(rawInvoice(good(), { hrp: 'lnxy25m' }))).toBe('UNKNOWN_PREFIX')
    expect(reasonOf(rawInvoice(good(), { hrp: 'lnbc21000001' }))).toBe('AMOUNT_MALFORMED')
    expect(decodeInvoice(rawInvoice(good(), { hrp: 'lntbs25u' })).network).toBe('signet')
    expect(decodeInvoice(rawInvoice(good(), { hrp: 'lnbcrt1m' })).network).toBe('regtest')
  })

  test('`x` defaults to 3600 s and `c` to 18 blocks; both are read when present', () => {
    const plain = decodeInvoice(rawInvoice(good()))
    expect(plain.expiresAt - plain.timestamp).toBe(3600)
    expect(plain.minFinalCltvDelta).toBe(18)
    const set = decodeInvoice(rawInvoice([...good(), [6, words.int(60)], [24, words.int(144)]]))
    expect(set.expiresAt - set.timestamp).toBe(60)
    expect(set.minFinalCltvDelta).toBe(144)
  })

  test('an `h` field is checked against the description when the caller knows it', () => {
    const inv = rawInvoice([p(), h(), s()])
    expect(decodeInvoice(inv, { hashedDescription: 'a long description' }).descriptionHash).toMatch(/^[0-9a-f]{64}$/)
    expect(reasonOf(inv, { hashedDescription: 'another description' })).toBe('DESCRIPTION_HASH_MISMATCH')
  })

  test('a signature by another key than `n` is refused; invoices of the test helper still pass', () => {
    expect(reasonOf(rawInvoice([...good(), [19, words.hex(KEY_N)]], { key: NODE_B }))).toBe('PAYEE_MISMATCH')
    expect(reasonOf(signInvoice({ amountMsat: 1000 }).bolt11)).toBe('accepted')
  })

  test('the refusal names its rule for the person reading it', () => {
    expect(() => decodeInvoice(rawInvoice([...good().slice(0, 3), features(8, 14, 100)]))).toThrow(
      /FEATURE_REQUIRED_UNKNOWN.*feature bit 100/
    )
  })
})

test("a wallet's get_info network in invoice terms: mainnet is bitcoin, and only networks an invoice can be on are known", () => {
  expect(walletNetworkName('mainnet')).toBe('bitcoin')
  expect(walletNetworkName('regtest')).toBe('regtest')
  expect(walletNetworkName('liquid')).toBe('liquid')
  expect(walletNetworkName(null)).toBeNull()
  expect(walletNetworkName('')).toBeNull()
  expect(knownNetwork(walletNetworkName('mainnet'))).toBe('bitcoin')
  expect(knownNetwork('liquid')).toBeNull()
  expect(knownNetwork(null)).toBeNull()
})

// The decoder reads the fields and recovers the payee itself (@noble/curves); the `bolt11` library,
// which it no longer loads, reads them too: on every invoice both accept, both must read the same.
describe('what the decoder reads agrees with the bolt11 library', () => {
  const library = (invoice: string) => {
    const d = bolt11.decode(invoice, {
      bech32: 'bcrt',
      pubKeyHash: 0x6f,
      scriptHash: 0xc4,
      validWitnessVersions: [0, 1]
    })
    const tag = (name: string) => d.tags.find((t) => t.tagName === name)?.data ?? null
    return {
      amountMsat: d.millisatoshis ?? null,
      paymentHash: tag('payment_hash'),
      paymentSecret: tag('payment_secret'),
      payeeNodeKey: d.payeeNodeKey,
      timestamp: d.timestamp,
      description: tag('description'),
      descriptionHash: tag('purpose_commit_hash'),
      routeHints: d.tags
        .filter((t) => t.tagName === 'routing_info')
        .map((t) =>
          (t.data as Array<{ pubkey: string; fee_base_msat: number; fee_proportional_millionths: number }>).map(
            (h) => ({
              pubkey: h.pubkey,
              feeBaseMsat: h.fee_base_msat,
              feeProportionalMillionths: h.fee_proportional_millionths
            })
          )
        )
    }
  }
  const ours = (invoice: string) => {
    const {
      amountMsat,
      paymentHash,
      paymentSecret,
      payeeNodeKey,
      timestamp,
      description,
      descriptionHash,
      routeHints
    } = decodeInvoice(invoice)
    return { amountMsat, paymentHash, paymentSecret, payeeNodeKey, timestamp, description, descriptionHash, routeHints }
  }

  test.each(vectors.valid.filter((v) => v.invoice.toLowerCase().startsWith('lnbcrt')))('on "$name"', ({ invoice }) => {
    expect(ours(invoice)).toEqual(library(invoice))
  })

  // Not the high-S example: the library recovers another key from the high-S form, where the BOLT
  // recovers the payee from the low-S one (readSignature), as that example's own test checks.
  test('on the BOLT examples of every network, the payee, the amount and the time', () => {
    for (const { invoice } of vectors.valid.filter((v) => !/high-S/.test(v.name))) {
      const network = invoiceNetwork(invoice) as NetworkName
      const prefix = { bitcoin: 'bc', testnet: 'tb', signet: 'tbs', regtest: 'bcrt' }[network]
      const d = bolt11.decode(invoice, { bech32: prefix, pubKeyHash: 0, scriptHash: 5, validWitnessVersions: [0, 1] })
      const mine = decodeInvoice(invoice)
      expect(mine.payeeNodeKey).toBe(d.payeeNodeKey)
      expect(mine.amountMsat).toBe(d.millisatoshis ?? null)
      expect(mine.timestamp).toBe(d.timestamp)
    }
  })

  test('on 200 random invoices: amounts in every unit, any key, descriptions in any script, route hints', () => {
    const units = ['', 'm', 'u', 'n', 'p']
    for (let i = 0; i < 200; i++) {
      const unit = units[i % units.length] as string
      const digits = String(1 + (randomBytes(4).readUInt32BE() % 99_999)) + (unit === 'p' ? '0' : '')
      const hops = i % 3 === 0 ? [] : [[3, words.hex(randomBytes(51 * (1 + (i % 2))).toString('hex'))] as RawField]
      const text = `${randomBytes(6).toString('base64')} ☕ ${'é'.repeat(i % 7)}`
      const key = randomBytes(32).toString('hex')
      const invoice = rawInvoice([p(), d(text), s(), features(8, 14), ...hops], {
        hrp: `lnbcrt${digits}${unit}`,
        key,
        timestamp: 1_700_000_000 + i
      })
      expect(ours(invoice)).toEqual(library(invoice))
    }
  })
})
