// Real, signed BOLT11 invoices for tests, made with the bolt11 library.

import { createHash, randomBytes } from 'node:crypto'
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

export function makeInvoice(opts: {
  amountMsat: number
  key?: string
  network?: keyof typeof NETWORKS
  timestamp?: number
  expiry?: number
  preimage?: Buffer
}): MadeInvoice {
  const preimage = opts.preimage ?? randomBytes(32)
  const paymentHash = createHash('sha256').update(preimage).digest('hex')
  const encoded = bolt11.encode(
    {
      network: NETWORKS[opts.network ?? 'regtest'],
      millisatoshis: String(opts.amountMsat),
      timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000),
      tags: [
        { tagName: 'payment_hash', data: paymentHash },
        { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
        { tagName: 'description', data: '2020117 test tick' },
        { tagName: 'expire_time', data: opts.expiry ?? 600 }
      ]
    }
  )
  const signed = bolt11.sign(encoded, opts.key ?? NODE_A)
  return { bolt11: signed.paymentRequest as string, paymentHash, preimage }
}
