// BOLT11 decoding for the checks of SPEC §5.4, on the `bolt11` library, which also recovers the
// payee node key from the signature.

import { createHash } from 'node:crypto'
import bolt11 from 'bolt11'
import { WalletError } from './errors.js'

export type NetworkName = 'bitcoin' | 'testnet' | 'signet' | 'regtest'

const NETWORKS: Record<NetworkName, { bech32: string; pubKeyHash: number; scriptHash: number; validWitnessVersions: number[] }> = {
  bitcoin: { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, validWitnessVersions: [0, 1] },
  testnet: { bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
  signet: { bech32: 'tbs', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
  regtest: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] }
}

export const NETWORK_NAMES = Object.keys(NETWORKS) as NetworkName[]

export interface DecodedInvoice {
  network: NetworkName
  /** Exact amount in msat, as a decimal string (invoices may exceed 2^53 msat). */
  amountMsat: string | null
  paymentHash: string
  payeeNodeKey: string
  /** Unix seconds. */
  timestamp: number
  expiresAt: number
  description: string | null
  /** The `r` fields: each a private route into the payee, its hops in order, with their fees. */
  routeHints: Array<Array<{ pubkey: string; feeBaseMsat: number; feeProportionalMillionths: number }>>
}

type RoutingInfo = Array<{ pubkey: string; fee_base_msat: number; fee_proportional_millionths: number }>

/** The network an invoice's human-readable prefix names, or null. `lnbcrt` must win over `lnbc`. */
export function invoiceNetwork(invoice: string): NetworkName | null {
  const hrp = /^ln([a-z]+?)(\d+[munp]?)?1/.exec(invoice.toLowerCase())?.[1]
  if (!hrp) return null
  const names = (Object.keys(NETWORKS) as NetworkName[]).sort((a, b) => NETWORKS[b].bech32.length - NETWORKS[a].bech32.length)
  return names.find((n) => hrp === NETWORKS[n].bech32) ?? null
}

export function decodeInvoice(invoice: string): DecodedInvoice {
  const network = invoiceNetwork(invoice)
  if (network === null) throw WalletError.INVOICE_INVALID('unknown network prefix')
  let d: ReturnType<typeof bolt11.decode>
  try {
    d = bolt11.decode(invoice, NETWORKS[network])
  } catch (err) {
    throw WalletError.INVOICE_INVALID((err as Error).message)
  }
  const tags = d.tagsObject
  if (!tags.payment_hash || !/^[0-9a-f]{64}$/.test(tags.payment_hash)) throw WalletError.INVOICE_INVALID('no payment hash')
  if (!d.payeeNodeKey || !/^0[23][0-9a-f]{64}$/.test(d.payeeNodeKey)) throw WalletError.INVOICE_INVALID('no payee node key')
  if (typeof d.timestamp !== 'number') throw WalletError.INVOICE_INVALID('no timestamp')
  // An explicit payee tag must match the key that signed the invoice.
  if (tags.payee_node_key && tags.payee_node_key !== d.payeeNodeKey) throw WalletError.INVOICE_INVALID('signature does not match the payee tag')
  const expiry = typeof tags.expire_time === 'number' ? tags.expire_time : 3600
  return {
    network,
    amountMsat: d.millisatoshis ?? null,
    paymentHash: tags.payment_hash,
    payeeNodeKey: d.payeeNodeKey,
    timestamp: d.timestamp,
    expiresAt: d.timestamp + expiry,
    description: typeof tags.description === 'string' ? tags.description : null,
    routeHints: d.tags.flatMap((t) =>
      t.tagName === 'routing_info'
        ? [(t.data as RoutingInfo).map((h) => ({ pubkey: h.pubkey, feeBaseMsat: h.fee_base_msat, feeProportionalMillionths: h.fee_proportional_millionths }))]
        : []
    )
  }
}

/** Whether sha256(preimage) is the payment hash: the proof that an invoice was paid. */
export function preimageMatches(preimage: Uint8Array, paymentHash: string): boolean {
  if (preimage.byteLength !== 32) return false
  return createHash('sha256').update(preimage).digest('hex') === paymentHash.toLowerCase()
}
