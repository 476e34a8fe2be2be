// Invoices from a Lightning address (LUD-16 → LNURL-pay, LUD-06), for providers without an NWC
// wallet. The provider cannot look such invoices up, so it relies on the preimage alone, which
// only the payee's node could have revealed.

import { WalletError } from './errors.js'
import { decodeInvoice, type DecodedInvoice } from './invoice.js'

const MAX_BODY = 64 * 1024

export function lightningAddressUrl(address: string): URL {
  const m = /^([a-z0-9._+-]+)@([a-z0-9.-]+(?::\d+)?)$/i.exec(address)
  if (!m) throw WalletError.LNURL_FAILED(address, 'it is not name@domain')
  const domain = m[2] as string
  // Plain http only for loopback, which is where tests run their LNURL server.
  const scheme = /^(127\.0\.0\.1|localhost)(:\d+)?$/.test(domain) ? 'http' : 'https'
  return new URL(`${scheme}://${domain}/.well-known/lnurlp/${encodeURIComponent(m[1] as string)}`)
}

export async function invoiceFromLightningAddress(address: string, amountMsat: number, comment: string): Promise<{ invoice: string; decoded: DecodedInvoice }> {
  const params = await getJson(address, lightningAddressUrl(address))
  if (params.tag !== 'payRequest' || typeof params.callback !== 'string') throw WalletError.LNURL_FAILED(address, 'not a payRequest')
  const min = Number(params.minSendable)
  const max = Number(params.maxSendable)
  if (!(amountMsat >= min && amountMsat <= max)) throw WalletError.LNURL_FAILED(address, `${amountMsat} msat is outside ${min}-${max} msat`)
  const callback = new URL(params.callback)
  callback.searchParams.set('amount', String(amountMsat))
  if (Number(params.commentAllowed) >= comment.length && comment) callback.searchParams.set('comment', comment)
  const res = await getJson(address, callback)
  if (res.status === 'ERROR') throw WalletError.LNURL_FAILED(address, String(res.reason ?? 'error'))
  if (typeof res.pr !== 'string') throw WalletError.LNURL_FAILED(address, 'no invoice in the answer')
  const decoded = decodeInvoice(res.pr)
  // LUD-06: the wallet must check the amount it asked for is the amount it got.
  if (decoded.amountMsat !== String(amountMsat)) throw WalletError.LNURL_FAILED(address, `invoice amount ${decoded.amountMsat} msat, asked ${amountMsat}`)
  return { invoice: res.pr, decoded }
}

async function getJson(address: string, url: URL): Promise<Record<string, unknown>> {
  let res: Response
  try {
    res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(15_000) })
  } catch (err) {
    throw WalletError.LNURL_FAILED(address, (err as Error).message)
  }
  const text = await res.text()
  if (text.length > MAX_BODY) throw WalletError.LNURL_FAILED(address, 'answer too large')
  try {
    return JSON.parse(text) as Record<string, unknown>
  } catch {
    throw WalletError.LNURL_FAILED(address, `HTTP ${res.status}, not JSON`)
  }
}
