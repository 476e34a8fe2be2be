// Invoices from a Lightning address (LUD-16 → LNURL-pay, LUD-06), for providers without an NWC
// wallet. The provider cannot look such invoices up, so it relies on the preimage alone, which
// only the payee's node could have revealed.
// Invariants: every URL requested is https, or plain http on a loopback or .onion host (LUD-16),
// checked before the request, for the lnurlp endpoint and the callback alike; no redirect is
// followed; no answer is read past 64 KiB.

import { WalletError } from './errors.js'
import { decodeInvoice, type DecodedInvoice } from './invoice.js'

const MAX_BODY = 64 * 1024
const TIMEOUT_MS = 15_000

/** Hosts where plain http cannot be read or changed on the way: loopback (127.0.0.0/8, ::1, localhost) and Tor. */
function plainHttpAllowed(hostname: string): boolean {
  const host = hostname.toLowerCase()
  if (host === 'localhost' || host === '[::1]' || host.endsWith('.onion')) return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split('.').every((n) => Number(n) <= 255)
}

function secureUrl(address: string, url: URL): URL {
  if (url.protocol === 'https:' || (url.protocol === 'http:' && plainHttpAllowed(url.hostname))) return url
  throw WalletError.LNURL_INSECURE_URL(address, url.href.slice(0, 120))
}

export function lightningAddressUrl(address: string): URL {
  const m = /^([a-z0-9._+-]+)@([a-z0-9.-]+|\[::1\])(:\d+)?$/i.exec(address)
  if (!m) throw WalletError.LNURL_FAILED(address, 'it is not name@domain')
  const [, name, host, port = ''] = m as unknown as [string, string, string, string | undefined]
  const scheme = plainHttpAllowed(host) ? 'http' : 'https'
  return new URL(`${scheme}://${host}${port}/.well-known/lnurlp/${encodeURIComponent(name)}`)
}

export async function invoiceFromLightningAddress(
  address: string,
  amountMsat: number,
  comment: string
): Promise<{ invoice: string; decoded: DecodedInvoice }> {
  const params = await getJson(address, lightningAddressUrl(address))
  if (params.tag !== 'payRequest' || typeof params.callback !== 'string')
    throw WalletError.LNURL_FAILED(address, 'not a payRequest')
  const min = Number(params.minSendable)
  const max = Number(params.maxSendable)
  if (!(amountMsat >= min && amountMsat <= max))
    throw WalletError.LNURL_FAILED(address, `${amountMsat} msat is outside ${min}-${max} msat`)
  let callback: URL
  try {
    callback = new URL(params.callback)
  } catch {
    throw WalletError.LNURL_FAILED(address, 'its callback is not a URL')
  }
  callback.searchParams.set('amount', String(amountMsat))
  if (Number(params.commentAllowed) >= comment.length && comment) callback.searchParams.set('comment', comment)
  const res = await getJson(address, callback)
  if (res.status === 'ERROR') throw WalletError.LNURL_FAILED(address, String(res.reason ?? 'error'))
  if (typeof res.pr !== 'string') throw WalletError.LNURL_FAILED(address, 'no invoice in the answer')
  // LUD-06: an invoice with a description hash (`h`) commits to the metadata the wallet was shown.
  const decoded = decodeInvoice(
    res.pr,
    typeof params.metadata === 'string' ? { hashedDescription: params.metadata } : {}
  )
  // LUD-06: the wallet must check the amount it asked for is the amount it got.
  if (decoded.amountMsat !== String(amountMsat))
    throw WalletError.LNURL_FAILED(address, `invoice amount ${decoded.amountMsat} msat, asked ${amountMsat}`)
  return { invoice: res.pr, decoded }
}

async function getJson(address: string, target: URL): Promise<Record<string, unknown>> {
  const url = secureUrl(address, target)
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS)
  try {
    const res = await fetch(url, { redirect: 'error', signal: abort.signal })
    const text = await readCappedText(res, MAX_BODY)
    if (text === null) throw WalletError.LNURL_FAILED(address, `its answer is larger than ${MAX_BODY / 1024} KiB`)
    try {
      const json = JSON.parse(text) as unknown
      if (json !== null && typeof json === 'object' && !Array.isArray(json)) return json as Record<string, unknown>
    } catch {
      // Answered below, with the HTTP status.
    }
    throw WalletError.LNURL_FAILED(address, `HTTP ${res.status}, not a JSON object`)
  } catch (err) {
    if (err instanceof WalletError) throw err
    throw WalletError.LNURL_FAILED(
      address,
      abort.signal.aborted ? String((abort.signal.reason as Error).message) : (err as Error).message
    )
  } finally {
    clearTimeout(timer)
    // Whatever was left unread (an endless body) is dropped with the connection.
    abort.abort()
  }
}

/**
 * A response body as UTF-8, read chunk by chunk; null at the first byte past `maxBytes` (the rest is
 * never read). The one capped reader of the LNURL and zap code: an answer from a stranger's server.
 */
export async function readCappedText(res: Response, maxBytes: number): Promise<string | null> {
  if (Number(res.headers.get('content-length') ?? 0) > maxBytes) return null
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      return null
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}
