// The wallet's Lightning identity: a secp256k1 node key, kept in the wallet dir so that invoices
// issued before a restart still carry this node's signature after it. Invoices are real BOLT11 on
// regtest, encoded and signed by the bolt11 package.

import { createECDH, createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import bolt11 from 'bolt11'
import { DevWalletError } from './errors.js'
import { readIfExists, storeFile } from './storage.js'

export const REGTEST = Object.freeze({
  bech32: 'bcrt',
  pubKeyHash: 0x6f,
  scriptHash: 0xc4,
  validWitnessVersions: [0, 1]
})

/** BOLT11's default when an invoice carries no expiry tag. */
export const DEFAULT_EXPIRY_SECS = 3600
// bolt11 refuses longer descriptions: 639 bytes fill the 1023 five-bit words of a tagged field.
const MAX_DESCRIPTION_BYTES = 639

export interface IssuedInvoice {
  invoice: string
  paymentHash: string
  preimage: string
}

export interface InvoiceTerms {
  amountMsat: number
  description: string
  /** Commits to a description kept elsewhere (BOLT11 `h` tag) instead of carrying it. */
  descriptionHash: string | null
  expirySecs: number
  /** Unix seconds. */
  timestamp: number
}

export interface DecodedInvoice {
  /** Lower-cased, as bolt11 returns it. */
  invoice: string
  network: string
  amountMsat: number | null
  paymentHash: string
  /** The key that signed the invoice, recovered from its signature. */
  payeeNodeKey: string
  timestamp: number
  expiresAt: number
}

export class NodeKey {
  readonly pubkey: string
  private readonly privateKey: string

  private constructor(privateKey: string) {
    const ecdh = createECDH('secp256k1')
    ecdh.setPrivateKey(privateKey, 'hex')
    this.privateKey = privateKey
    this.pubkey = ecdh.getPublicKey('hex', 'compressed')
  }

  static async load(dir: string): Promise<NodeKey> {
    const path = join(dir, 'node.key')
    const stored = (await readIfExists(path))?.trim()
    if (stored !== undefined) {
      if (!/^[0-9a-f]{64}$/.test(stored)) throw DevWalletError.LEDGER_CORRUPT(path, 'not a 32-byte hex key')
      return new NodeKey(stored)
    }
    const ecdh = createECDH('secp256k1')
    ecdh.generateKeys()
    const privateKey = ecdh.getPrivateKey('hex').padStart(64, '0')
    await storeFile(path, privateKey + '\n')
    return new NodeKey(privateKey)
  }

  issue(opts: InvoiceTerms): IssuedInvoice {
    if (Buffer.byteLength(opts.description) > MAX_DESCRIPTION_BYTES) {
      throw DevWalletError.INVALID_ARGUMENT(
        'description',
        `is longer than the ${MAX_DESCRIPTION_BYTES} bytes a BOLT11 invoice can carry`
      )
    }
    const preimage = randomBytes(32)
    const paymentHash = createHash('sha256').update(preimage).digest('hex')
    const unsigned = bolt11.encode({
      network: { ...REGTEST, validWitnessVersions: [...REGTEST.validWitnessVersions] },
      millisatoshis: String(opts.amountMsat),
      timestamp: opts.timestamp,
      tags: [
        { tagName: 'payment_hash', data: paymentHash },
        { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
        opts.descriptionHash === null
          ? { tagName: 'description', data: opts.description }
          : { tagName: 'purpose_commit_hash', data: opts.descriptionHash },
        { tagName: 'expire_time', data: opts.expirySecs }
      ]
    })
    const signed = bolt11.sign(unsigned, this.privateKey)
    if (!signed.paymentRequest) throw DevWalletError.INTERNAL('signing an invoice')
    return { invoice: signed.paymentRequest, paymentHash, preimage: preimage.toString('hex') }
  }
}

export function decodeInvoice(invoice: unknown): DecodedInvoice {
  if (typeof invoice !== 'string' || invoice === '')
    throw DevWalletError.INVALID_ARGUMENT('invoice', 'must be a BOLT11 string')
  let decoded: ReturnType<typeof bolt11.decode>
  try {
    // Checks the bech32 checksum and recovers the signing key from the signature.
    decoded = bolt11.decode(invoice)
  } catch (err) {
    throw DevWalletError.INVALID_ARGUMENT('invoice', `is not a valid BOLT11 invoice (${(err as Error).message})`)
  }
  const paymentHash = decoded.tagsObject.payment_hash
  const timestamp = decoded.timestamp
  if (!paymentHash || timestamp === undefined || !decoded.payeeNodeKey || !decoded.paymentRequest) {
    throw DevWalletError.INVALID_ARGUMENT('invoice', 'lacks a payment hash, timestamp or signature')
  }
  const amountMsat = decoded.millisatoshis ? Number(decoded.millisatoshis) : null
  return {
    invoice: decoded.paymentRequest,
    network: decoded.network?.bech32 ?? 'unknown',
    amountMsat,
    paymentHash,
    payeeNodeKey: decoded.payeeNodeKey,
    timestamp,
    expiresAt: timestamp + (decoded.tagsObject.expire_time ?? DEFAULT_EXPIRY_SECS)
  }
}
