// Bech32 (BIP-173) as BOLT #11 uses it: no 90-character limit, and the decoder says *why* a string
// is refused (malformed, or a wrong checksum), so that an invoice refusal can name its rule.
// Not exported from the package: only invoice.ts and the tests use it.

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]

export type Bech32Result = { hrp: string; words: number[] } | { error: 'MALFORMED' | 'CHECKSUM'; why: string }

function polymod(values: number[]): number {
  let chk = 1
  for (const v of values) {
    const top = chk >>> 25
    chk = ((chk & 0x1ffffff) << 5) ^ v
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i] as number
  }
  return chk
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = []
  for (const c of hrp) out.push(c.charCodeAt(0) >>> 5)
  out.push(0)
  for (const c of hrp) out.push(c.charCodeAt(0) & 31)
  return out
}

/** The human-readable part and the data words, the 6 checksum words removed. */
export function bech32Decode(input: string): Bech32Result {
  if (!/^[\x21-\x7e]+$/.test(input)) return { error: 'MALFORMED', why: 'it has characters outside printable ASCII' }
  const lower = input.toLowerCase()
  if (input !== lower && input !== input.toUpperCase())
    return { error: 'MALFORMED', why: 'it mixes upper and lower case' }
  const sep = lower.lastIndexOf('1')
  if (sep < 1) return { error: 'MALFORMED', why: 'it has no human-readable part and separator "1"' }
  if (lower.length - sep - 1 < 6) return { error: 'MALFORMED', why: 'it is too short for a checksum' }
  const hrp = lower.slice(0, sep)
  const words: number[] = []
  for (const c of lower.slice(sep + 1)) {
    const w = CHARSET.indexOf(c)
    if (w < 0) return { error: 'MALFORMED', why: `"${c}" is not a bech32 character` }
    words.push(w)
  }
  if (polymod([...hrpExpand(hrp), ...words]) !== 1) return { error: 'CHECKSUM', why: 'the bech32 checksum is wrong' }
  return { hrp, words: words.slice(0, -6) }
}

/** Encodes words with a checksum: for tests that build invoices field by field. */
export function bech32Encode(hrp: string, words: number[]): string {
  const mod = polymod([...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31)
  return `${hrp}1${[...words, ...checksum].map((w) => CHARSET[w]).join('')}`
}

/** Bytes to 5-bit words, the last one padded with zero bits. */
export function toWords(bytes: Uint8Array): number[] {
  const out: number[] = []
  let acc = 0
  let bits = 0
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xfff
    bits += 8
    for (; bits >= 5; bits -= 5) out.push((acc >> (bits - 5)) & 31)
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31)
  return out
}

/** 5-bit words to bytes, dropping the padding bits of the last word. */
export function fromWords(words: number[]): Buffer {
  const out: number[] = []
  let acc = 0
  let bits = 0
  for (const w of words) {
    acc = ((acc << 5) | w) & 0xfff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out.push((acc >> bits) & 255)
    }
  }
  return Buffer.from(out)
}
