// BOLT11 decoding for the checks of SPEC §5.4. Every reader rule of BOLT #11 (lightning/bolts
// 11-payment-encoding.md, 2026-03) is checked here, each refusal an INVOICE_INVALID with its own
// reason sub-code. Bech32 is @scure/base's and the payee key is recovered from the signature by
// @noble/curves (the secp256k1 nostr-tools already loads); the tagged fields are split and read
// here, as the reader rules need them split anyway.
//
// Why not the `bolt11` library, which this used to hand the invoice to after the checks: it brings
// bitcoinjs-lib and a native secp256k1 with it, ~100 ms of CPU that every CLI spent loading it
// before its first payment (most of a session's start-up then still to come), for recovery and a
// few field reads. It also read a field of the wrong length, a repeated field (keeping the last,
// where lnd keeps the first) and an unknown required feature without complaint, which is why the
// fields were walked here first already.

import { createHash } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bech32, utils } from '@scure/base'
import { WalletError } from './errors.js'

export type NetworkName = 'bitcoin' | 'testnet' | 'signet' | 'regtest'

const NETWORKS: Record<NetworkName, { bech32: string }> = {
  bitcoin: { bech32: 'bc' },
  testnet: { bech32: 'tb' },
  signet: { bech32: 'tbs' },
  regtest: { bech32: 'bcrt' }
}

export const NETWORK_NAMES = Object.keys(NETWORKS) as NetworkName[]

/** NIP-47 get_info says `mainnet` where invoices say `bitcoin`: the wallet's network in invoice terms, as said. */
export function walletNetworkName(said: string | null | undefined): string | null {
  if (!said) return null
  return said === 'mainnet' ? 'bitcoin' : said
}

/** The network `name` is, if it is one an invoice can be on; null for none or one we do not know. */
export function knownNetwork(name: string | null | undefined): NetworkName | null {
  return NETWORK_NAMES.find((n) => n === name) ?? null
}

/** BOLT #11 defaults when the `x` and `c` fields are absent. */
export const DEFAULT_EXPIRY_SECS = 3600
export const DEFAULT_MIN_FINAL_CLTV_DELTA = 18
/** Ours: a final CLTV delta above this would lock the payer's HTLC for weeks (and wallets cap the whole route at 2016). */
export const MAX_MIN_FINAL_CLTV_DELTA = 2016
/** Ours: invoices are a few hundred characters; a tick's is at most 4096 on the wire (SPEC §4). */
const MAX_INVOICE_CHARS = 8192

export interface DecodedInvoice {
  network: NetworkName
  /** Exact amount in msat, as a decimal string (invoices may exceed 2^53 msat). */
  amountMsat: string | null
  paymentHash: string
  paymentSecret: string
  payeeNodeKey: string
  /** Unix seconds. */
  timestamp: number
  expiresAt: number
  description: string | null
  /** The `h` field: checked only when the caller knows the description (decodeInvoice's option). */
  descriptionHash: string | null
  minFinalCltvDelta: number
  /** The `r` fields: each a private route into the payee, its hops in order, with their fees. */
  routeHints: Array<Array<{ pubkey: string; feeBaseMsat: number; feeProportionalMillionths: number }>>
}

export interface DecodeOptions {
  /** The description the invoice must commit to when it carries `h` (LNURL-pay: the metadata). */
  hashedDescription?: string
}

// Tagged field types (BOLT #11 "Tagged Fields"). `f`, an on-chain fallback address, is never read:
// payments go over Lightning, and the BOLT asks a reader only to skip the versions it does not know.
const F = { p: 1, r: 3, features: 5, x: 6, f: 9, d: 13, s: 16, n: 19, h: 23, c: 24, m: 27 } as const
const FIXED_LENGTH: Record<number, [string, number]> = {
  [F.p]: ['p', 52],
  [F.h]: ['h', 52],
  [F.s]: ['s', 52],
  [F.n]: ['n', 53]
}
/** Fields that mean one thing: a second copy is read differently by different readers. */
const SINGLE: Record<number, string> = {
  [F.p]: 'p',
  [F.s]: 's',
  [F.d]: 'd',
  [F.h]: 'h',
  [F.n]: 'n',
  [F.x]: 'x',
  [F.c]: 'c',
  [F.features]: '9',
  [F.m]: 'm'
}
/** One hop of an `r` field: pubkey 33, short_channel_id 8, fee_base_msat 4, fee_proportional_millionths 4, cltv_expiry_delta 2. */
const HOP_BYTES = 51
const MINIMAL: Record<number, string> = { [F.x]: 'x', [F.c]: 'c', [F.features]: '9' }

/**
 * Feature bits BOLT #9 defines for invoices (context 9) or as ASSUMED, in pairs: var_onion_optin 8,
 * payment_secret 14, basic_mpp 16, option_route_blinding 24, option_attribution_data 36,
 * option_payment_metadata 48. An even bit outside this list makes the invoice unpayable.
 */
const KNOWN_FEATURES = new Set([8, 9, 14, 15, 16, 17, 24, 25, 36, 37, 48, 49])
/** Transitive dependencies (BOLT #9): basic_mpp needs payment_secret. */
const FEATURE_DEPENDS: Array<[number, number, string]> = [[16, 14, 'basic_mpp needs payment_secret']]

const TIMESTAMP_WORDS = 7
const SIGNATURE_WORDS = 104
/** The secp256k1 group order; a low-S signature has s at most half of it. */
const ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const HALF_ORDER = ORDER >> 1n

interface Field {
  type: number
  words: number[]
}

/** The network an invoice's human-readable prefix names, or null. `lnbcrt` must win over `lnbc`. */
export function invoiceNetwork(invoice: string): NetworkName | null {
  const hrp = invoice.toLowerCase().slice(0, Math.max(0, invoice.lastIndexOf('1')))
  return splitHrp(hrp)?.network ?? null
}

function splitHrp(hrp: string): { network: NetworkName; amount: string } | null {
  const names = NETWORK_NAMES.slice().sort((a, b) => NETWORKS[b].bech32.length - NETWORKS[a].bech32.length)
  // The amount starts with a digit, so `lntbs` is signet and never testnet with an amount "s…".
  const network = names.find(
    (n) => hrp.startsWith(`ln${NETWORKS[n].bech32}`) && !/^[a-z]/.test(hrp.slice(2 + NETWORKS[n].bech32.length))
  )
  return network ? { network, amount: hrp.slice(2 + NETWORKS[network].bech32.length) } : null
}

export function decodeInvoice(invoice: string, opts: DecodeOptions = {}): DecodedInvoice {
  const { parsed, network, amount } = readEnvelope(invoice)
  const fields = readFields(parsed.words.slice(TIMESTAMP_WORDS, -SIGNATURE_WORDS))
  checkLengths(fields)
  const expiry = numberField(fields, F.x, DEFAULT_EXPIRY_SECS)
  const cltv = numberField(fields, F.c, DEFAULT_MIN_FINAL_CLTV_DELTA)
  // Whether the payee signed it comes before what it says.
  const hasN = fields.some((f) => f.type === F.n)
  const signature = readSignature(parsed.words, hasN)
  const amountMsat = amountOf(amount)
  const payeeNodeKey = recoverPayee(parsed, signature, fields)
  checkFields(fields)
  if (cltv > MAX_MIN_FINAL_CLTV_DELTA) {
    const why = `its min_final_cltv_expiry_delta ${cltv} is above ${MAX_MIN_FINAL_CLTV_DELTA} blocks`
    throw WalletError.INVOICE_INVALID(why, 'FIELD_OUT_OF_RANGE')
  }
  // checkFields refused a second copy of any field read here.
  const field = (type: number): Buffer | null => {
    const f = fields.find((x) => x.type === type)
    return f ? fieldBytes(f.words) : null
  }
  const descriptionHash = field(F.h)?.toString('hex') ?? null
  if (descriptionHash !== null && opts.hashedDescription !== undefined) {
    if (descriptionHash !== sha256Hex(opts.hashedDescription)) {
      const why = 'its `h` field is not the SHA-256 of the description it should commit to'
      throw WalletError.INVOICE_INVALID(why, 'DESCRIPTION_HASH_MISMATCH')
    }
  }
  const timestamp = wordsToNumber(parsed.words.slice(0, TIMESTAMP_WORDS))
  return {
    network,
    amountMsat,
    paymentHash: (field(F.p) as Buffer).toString('hex'),
    paymentSecret: (field(F.s) as Buffer).toString('hex'),
    payeeNodeKey,
    timestamp,
    expiresAt: timestamp + expiry,
    description: field(F.d)?.toString('utf8') ?? null,
    descriptionHash,
    minFinalCltvDelta: cltv,
    routeHints: fields.filter((f) => f.type === F.r).map((f) => routeHint(fieldBytes(f.words)))
  }
}

/** Bech32, the prefix and the amount (BOLT #11 "Encoding Overview" and "Human-Readable Part"). */
function readEnvelope(invoice: string): {
  parsed: { hrp: string; words: number[] }
  network: NetworkName
  amount: string
} {
  if (typeof invoice !== 'string' || invoice.length > MAX_INVOICE_CHARS) {
    throw WalletError.INVOICE_INVALID(`it is not a string of at most ${MAX_INVOICE_CHARS} characters`)
  }
  const parsed = decodeBech32(invoice)
  const hrp = splitHrp(parsed.hrp)
  if (!hrp) {
    const why = `the prefix "${parsed.hrp.slice(0, 16)}" names no currency this wallet knows`
    throw WalletError.INVOICE_INVALID(why, 'UNKNOWN_PREFIX')
  }
  checkAmount(hrp.amount)
  if (parsed.words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) {
    throw WalletError.INVOICE_INVALID('it is too short for a timestamp and a signature')
  }
  return { parsed, network: hrp.network, amount: hrp.amount }
}

/** Bech32 as BOLT #11 uses it: no 90-character limit. */
function decodeBech32(invoice: string): { hrp: string; words: number[] } {
  // BIP-173 allows only ASCII 33-126, which scure checks after lower-casing: the Kelvin sign U+212A,
  // which lower-cases to "k", would pass. Checked first, it also keeps scure's messages printable.
  if (!/^[\x21-\x7e]+$/.test(invoice)) throw WalletError.INVOICE_INVALID('it has characters outside printable ASCII')
  try {
    // The type asks for the separator "1" that decode itself checks (nostr-tools' nip19 casts so too).
    const { prefix, words } = bech32.decode(invoice as `${string}1${string}`, false)
    return { hrp: prefix, words }
  } catch (err) {
    throw bech32Refusal(err)
  }
}

/**
 * scure's errors carry no code: the message is the only signal it gives, so "Invalid checksum" is
 * CHECKSUM and any other refusal MALFORMED. The BOLT's checksum example (bolt11-vectors.json) pins it.
 */
function bech32Refusal(err: unknown): WalletError {
  const message = err instanceof Error ? err.message : String(err)
  if (message.startsWith('Invalid checksum'))
    return WalletError.INVOICE_INVALID('the bech32 checksum is wrong', 'CHECKSUM')
  return WalletError.INVOICE_INVALID(`it is not bech32 (${message.slice(0, 80)})`, 'MALFORMED')
}

/** BOLT #11 "Human-Readable Part", reader: digits, then at most a multiplier; `p` only on a multiple of 10. */
function checkAmount(amount: string): void {
  if (amount === '') return
  const m = /^(\d+)([munp])?$/.exec(amount)
  if (!m)
    throw WalletError.INVOICE_INVALID(
      `its amount "${amount.slice(0, 24)}" is not digits and a multiplier m, u, n or p`,
      'AMOUNT_MALFORMED'
    )
  if (m[2] === 'p' && !(m[1] as string).endsWith('0'))
    throw WalletError.INVOICE_INVALID(
      'its amount in pico-bitcoin is not a whole number of millisatoshis',
      'AMOUNT_SUB_MSAT'
    )
}

/** Splits the tagged fields: 5-bit type, 10-bit data_length, data_length words. */
function readFields(words: number[]): Field[] {
  const fields: Field[] = []
  for (let i = 0; i < words.length;) {
    if (i + 3 > words.length) throw WalletError.INVOICE_INVALID('a tagged field is cut short')
    const type = words[i] as number
    const length = (words[i + 1] as number) * 32 + (words[i + 2] as number)
    if (i + 3 + length > words.length) throw WalletError.INVOICE_INVALID('a tagged field runs past the signature')
    fields.push({ type, words: words.slice(i + 3, i + 3 + length) })
    i += 3 + length
  }
  return fields
}

/**
 * BOLT #11 "Tagged Fields", reader: a `p`, `h`, `s` or `n` field of the wrong length fails the payment.
 * Ours: an `r` field that is not whole 51-byte hops (a cut hop has no fees to read).
 */
function checkLengths(fields: Field[]): void {
  for (const f of fields) {
    const bytes = Math.floor((f.words.length * 5) / 8)
    if (f.type === F.r && (bytes === 0 || bytes % HOP_BYTES !== 0))
      throw WalletError.INVOICE_INVALID(
        `its \`r\` field has ${bytes} bytes, not whole ${HOP_BYTES}-byte hops`,
        'FIELD_LENGTH'
      )
    const fixed = FIXED_LENGTH[f.type]
    if (fixed && f.words.length !== fixed[1])
      throw WalletError.INVOICE_INVALID(
        `its \`${fixed[0]}\` field has data_length ${f.words.length}, not ${fixed[1]}`,
        'FIELD_LENGTH'
      )
  }
}

/** The other reader requirements of "Tagged Fields", in the order the spec lists them. */
function checkFields(fields: Field[]): void {
  const seen = new Set<number>()
  for (const f of fields) {
    if (SINGLE[f.type] && seen.has(f.type))
      throw WalletError.INVOICE_INVALID(`it has more than one \`${SINGLE[f.type]}\` field`, 'DUPLICATE_FIELD')
    seen.add(f.type)
  }
  if (!seen.has(F.p)) throw WalletError.INVOICE_INVALID('it has no payment hash (`p` field)', 'PAYMENT_HASH_MISSING')
  if (seen.has(F.d) === seen.has(F.h))
    throw WalletError.INVOICE_INVALID(
      'it must carry exactly one of a description (`d`) and a description hash (`h`)',
      'DESCRIPTION_FIELDS'
    )
  for (const f of fields) {
    if (MINIMAL[f.type] && f.words[0] === 0)
      throw WalletError.INVOICE_INVALID(
        `its \`${MINIMAL[f.type]}\` field begins with a zero field element`,
        'NON_MINIMAL_FIELD'
      )
  }
  const features = fields.find((f) => f.type === F.features)
  if (features) checkFeatures(featureBits(features.words))
  if (!seen.has(F.s))
    throw WalletError.INVOICE_INVALID('it has no payment secret (`s` field)', 'PAYMENT_SECRET_MISSING')
}

/** The set bits of a `9` field: big-endian, bit 0 the lowest bit of the last word. */
function featureBits(words: number[]): number[] {
  const bits: number[] = []
  words.forEach((w, i) => {
    for (let b = 0; b < 5; b++) if ((w >> b) & 1) bits.push((words.length - 1 - i) * 5 + b)
  })
  return bits.sort((a, b) => a - b)
}

/** BOLT #11 "Feature Bits": unknown odd bits are ignored, unknown even bits refuse, dependencies must be set. */
function checkFeatures(bits: number[]): void {
  const unknownEven = bits.find((b) => b % 2 === 0 && !KNOWN_FEATURES.has(b))
  if (unknownEven !== undefined)
    throw WalletError.INVOICE_INVALID(
      `it requires feature bit ${unknownEven}, which this wallet does not know`,
      'FEATURE_REQUIRED_UNKNOWN'
    )
  const has = (pair: number): boolean => bits.includes(pair) || bits.includes(pair + 1)
  for (const [feature, needs, why] of FEATURE_DEPENDS) {
    if (has(feature) && !has(needs))
      throw WalletError.INVOICE_INVALID(`its features break a dependency: ${why}`, 'FEATURE_DEPENDENCY')
  }
}

function numberField(fields: Field[], type: number, fallback: number): number {
  const f = fields.find((x) => x.type === type)
  if (!f) return fallback
  // 7 words are 35 bits, as the timestamp: any more is no time in seconds or blocks.
  if (f.words.length > 7)
    throw WalletError.INVOICE_INVALID(`its \`${type === F.x ? 'x' : 'c'}\` field is too large`, 'FIELD_OUT_OF_RANGE')
  return wordsToNumber(f.words)
}

/** Big-endian 5-bit words as a number: at most 7 words here (35 bits, within 2^53). */
function wordsToNumber(words: number[]): number {
  return words.reduce((n, w) => n * 32 + w, 0)
}

/**
 * A tagged field's data as bytes: the words' bits in order, a last partial byte dropped (a 52-word
 * `p` field is 260 bits, its 32 bytes and 4 bits of padding).
 */
function fieldBytes(words: number[]): Buffer {
  return Buffer.from(wordsToBytes(words).subarray(0, Math.floor((words.length * 5) / 8)))
}

/** The words' bits in order, the last byte padded with zero bits: what the signature covers. */
function wordsToBytes(words: number[]): Uint8Array {
  return Uint8Array.from(utils.convertRadix2(words, 5, 8, true))
}

/** One `r` field: hops of pubkey 33, short_channel_id 8, fee_base_msat 4, fee_proportional_millionths 4, cltv_expiry_delta 2. */
function routeHint(bytes: Buffer): DecodedInvoice['routeHints'][number] {
  const hops: DecodedInvoice['routeHints'][number] = []
  for (let at = 0; at + HOP_BYTES <= bytes.length; at += HOP_BYTES) {
    hops.push({
      pubkey: bytes.subarray(at, at + 33).toString('hex'),
      feeBaseMsat: bytes.readUInt32BE(at + 41),
      feeProportionalMillionths: bytes.readUInt32BE(at + 45)
    })
  }
  return hops
}

/** BOLT #11 "Human-Readable Part": the amount in msat, exactly (the syntax was checked in readEnvelope). */
function amountOf(amount: string): string | null {
  if (amount === '') return null
  const m = /^(\d+)([munp])?$/.exec(amount) as RegExpExecArray
  const msat = (BigInt(m[1] as string) * MSAT_PER_BTC) / BTC_DIVISOR[m[2] ?? '']!
  if (msat > MAX_MSAT)
    throw WalletError.INVOICE_INVALID('its amount is more bitcoin than there will ever be', 'AMOUNT_MALFORMED')
  return msat.toString()
}

const MSAT_PER_BTC = 100_000_000_000n
const BTC_DIVISOR: Record<string, bigint> = {
  '': 1n,
  m: 1_000n,
  u: 1_000_000n,
  n: 1_000_000_000n,
  p: 1_000_000_000_000n
}
/** 21 million bitcoin. */
const MAX_MSAT = 21_000_000n * MSAT_PER_BTC

interface Signature {
  r: bigint
  s: bigint
  recovery: number
}

/**
 * The signature: r, s and the recovery id, the last 104 words (65 bytes). BOLT #11: with an `n`
 * field it must be low-S; without one, recovery accepts both. The BOLT's high-S example recovers
 * the payee from the low-S form (s → order − s, the same recovery id), so a high-S one is read so.
 */
function readSignature(words: number[], hasN: boolean): Signature {
  const sig = Buffer.from(wordsToBytes(words.slice(-SIGNATURE_WORDS)))
  const recovery = sig[64] as number
  if (recovery > 3) throw WalletError.INVOICE_INVALID('its signature has no valid recovery id', 'SIGNATURE')
  const r = BigInt(`0x${sig.subarray(0, 32).toString('hex')}`)
  let s = BigInt(`0x${sig.subarray(32, 64).toString('hex')}`)
  if (s > HALF_ORDER) {
    if (hasN) throw WalletError.INVOICE_INVALID('with an `n` field, its signature must be low-S', 'SIGNATURE_HIGH_S')
    if (s >= ORDER) throw WalletError.INVOICE_INVALID('its signature is not valid', 'SIGNATURE')
    s = ORDER - s
  }
  return { r, s, recovery }
}

/**
 * The payee: the key recovered from the signature over the prefix and the data before it, which
 * an `n` field must name. For a low-S signature that is the same as verifying against `n`.
 */
function recoverPayee(parsed: { hrp: string; words: number[] }, sig: Signature, fields: Field[]): string {
  const signed = Buffer.concat([Buffer.from(parsed.hrp, 'utf8'), wordsToBytes(parsed.words.slice(0, -SIGNATURE_WORDS))])
  const hash = createHash('sha256').update(signed).digest()
  let key: string
  try {
    const point = new secp256k1.Signature(sig.r, sig.s, sig.recovery).recoverPublicKey(hash)
    key = Buffer.from(point.toBytes(true)).toString('hex')
  } catch {
    throw WalletError.INVOICE_INVALID('its signature is not valid', 'SIGNATURE')
  }
  const n = fields.find((f) => f.type === F.n)
  if (n && fieldBytes(n.words).toString('hex') !== key)
    throw WalletError.INVOICE_INVALID('its `n` field is not the key that signed it', 'PAYEE_MISMATCH')
  return key
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** Whether sha256(preimage) is the payment hash: the proof that an invoice was paid. */
export function preimageMatches(preimage: Uint8Array, paymentHash: string): boolean {
  if (preimage.byteLength !== 32) return false
  return createHash('sha256').update(preimage).digest('hex') === paymentHash.toLowerCase()
}
