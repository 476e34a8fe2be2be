// Real, signed BOLT11 invoices for tests, made with the bolt11 library: what a provider, honest or
// not, can send as a tick's bill. The devnet wallet pays only regtest invoices it issued itself;
// these are for checking what a reader or a customer accepts, and cannot be paid on the devnet.

import { createHash, randomBytes } from 'node:crypto'
import { bech32 } from '@scure/base'
import bolt11 from 'bolt11'

export const NETWORKS = {
  bitcoin: { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, validWitnessVersions: [0, 1] },
  regtest: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] }
}

export const NODE_A = 'e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734'
export const NODE_B = '1111111111111111111111111111111111111111111111111111111111111111'

export interface MadeInvoice {
  bolt11: string
  paymentHash: string
  preimage: Buffer
}

/** A signed invoice for `amountMsat` (regtest, by NODE_A, 600 s expiry unless told otherwise). */
export function signInvoice(opts: {
  amountMsat: number
  key?: string
  network?: keyof typeof NETWORKS
  timestamp?: number
  expiry?: number
  preimage?: Buffer
}): MadeInvoice {
  const preimage = opts.preimage ?? randomBytes(32)
  const paymentHash = createHash('sha256').update(preimage).digest('hex')
  const encoded = bolt11.encode({
    network: NETWORKS[opts.network ?? 'regtest'],
    millisatoshis: String(opts.amountMsat),
    timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'description', data: '2020117 test tick' },
      { tagName: 'expire_time', data: opts.expiry ?? 600 }
    ]
  })
  const signed = bolt11.sign(encoded, opts.key ?? NODE_A)
  return { bolt11: signed.paymentRequest as string, paymentHash, preimage }
}

/** A regtest invoice with no amount at all (`lnbcrt1…`), or with an explicit zero amount. */
export function amountlessInvoice(opts: { zero?: boolean; key?: string } = {}): MadeInvoice {
  const preimage = randomBytes(32)
  const paymentHash = createHash('sha256').update(preimage).digest('hex')
  const encoded = bolt11.encode({
    network: NETWORKS.regtest,
    ...(opts.zero ? { millisatoshis: '0' } : {}),
    timestamp: Math.floor(Date.now() / 1000),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'description', data: '2020117 test tick' },
      { tagName: 'expire_time', data: 600 }
    ]
  })
  const signed = bolt11.sign(encoded, opts.key ?? NODE_A)
  return { bolt11: signed.paymentRequest as string, paymentHash, preimage }
}

/**
 * A regtest invoice with one route hint (an `r` field) whose single hop charges `feeBaseMsat`: what
 * a provider's private channel can ask on top of the tick. The devnet wallet cannot pay it.
 */
export function hintedInvoice(amountMsat: number, feeBaseMsat: number): MadeInvoice {
  const preimage = randomBytes(32)
  const paymentHash = createHash('sha256').update(preimage).digest('hex')
  const encoded = bolt11.encode({
    network: NETWORKS.regtest,
    millisatoshis: String(amountMsat),
    timestamp: Math.floor(Date.now() / 1000),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'description', data: '2020117 test tick' },
      { tagName: 'expire_time', data: 600 },
      {
        tagName: 'routing_info',
        data: [
          {
            pubkey: '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
            short_channel_id: '0102030405060708',
            fee_base_msat: feeBaseMsat,
            fee_proportional_millionths: 0,
            cltv_expiry_delta: 40
          }
        ]
      }
    ]
  })
  const signed = bolt11.sign(encoded, NODE_A)
  return { bolt11: signed.paymentRequest as string, paymentHash, preimage }
}

/** A tagged field as BOLT #11 lays it out: its type and its 5-bit data words. */
export type RawField = [type: number, words: number[], declaredLength?: number]

export const words = {
  hex: (hex: string): number[] => bech32.toWords(Buffer.from(hex, 'hex')),
  text: (text: string): number[] => bech32.toWords(Buffer.from(text, 'utf8')),
  int: (n: number): number[] => {
    const out: number[] = []
    for (; n > 0; n = Math.floor(n / 32)) out.unshift(n % 32)
    return out
  }
}

/**
 * An invoice built field by field and signed, for the reader rules bolt11.encode will not break:
 * wrong lengths, repeated fields, non-minimal numbers, any feature bits.
 */
export function rawInvoice(fields: RawField[], opts: { hrp?: string; timestamp?: number; key?: string } = {}): string {
  const data = [...words.int(opts.timestamp ?? 1496314658)]
  while (data.length < 7) data.unshift(0)
  for (const [type, w, length = w.length] of fields) data.push(type, length >> 5, length & 31, ...w)
  const hrp = opts.hrp ?? 'lnbc25m'
  const unsigned = { prefix: hrp, wordsTemp: bech32.encode('temp', data, false), tags: [] }
  const signed = bolt11.sign(unsigned as never, opts.key ?? NODE_A)
  return signed.paymentRequest as string
}

/** Feature bits as a minimal `9` field. */
export function featureWords(bits: number[]): number[] {
  const top = Math.max(...bits)
  const out = new Array<number>(Math.floor(top / 5) + 1).fill(0)
  for (const b of bits) {
    const at = out.length - 1 - Math.floor(b / 5)
    out[at] = (out[at] as number) | (1 << (b % 5))
  }
  return out
}
