// The key a recipient's zap receipts must be signed by: the `nostrPubkey` its LNURL-pay endpoint
// (LUD-16 `/.well-known/lnurlp/<name>`) advertises with `allowsNostr: true` (NIP-57 Appendix F).
// Invariants: https only, or plain http on a loopback host when the caller allows it (tests, the
// local network); no redirect followed; no answer read past 64 KiB; a deadline on every request.
// The URL is @2020117/wallet's lightningAddressUrl; its body reader is not exported, so a small
// one lives here.

import { lightningAddressUrl, readCappedText } from '@2020117/wallet'
import { ZapError } from './errors.js'

const MAX_BODY = 64 * 1024
const HEX64 = /^[0-9a-f]{64}$/

export interface LnurlOptions {
  /** Defaults to the global fetch. */
  fetch?: typeof fetch
  timeoutMs: number
  /** Allow plain http to 127.0.0.0/8, ::1 and localhost. Off by default: zaps are money-backed claims. */
  allowHttpLoopback?: boolean
}

export async function lnurlNostrPubkey(lud16: string, opts: LnurlOptions): Promise<string> {
  const shown = lud16.replace(/[^\x21-\x7e]/g, '?').slice(0, 120)
  let url: URL
  try {
    url = lightningAddressUrl(lud16)
  } catch (err) {
    throw ZapError.LNURL_FAILED(shown, 'it is not a name@domain Lightning address', err)
  }
  if (url.protocol !== 'https:' && !(opts.allowHttpLoopback && isLoopback(url.hostname)))
    throw ZapError.LNURL_FAILED(shown, `plain http to ${url.host.slice(0, 80)} is not allowed`)
  const params = await getJson(shown, url, opts)
  if (params.allowsNostr !== true) throw ZapError.LNURL_NOT_NOSTR(shown, '`allowsNostr` is not true')
  if (typeof params.nostrPubkey !== 'string' || !HEX64.test(params.nostrPubkey))
    throw ZapError.LNURL_NOT_NOSTR(shown, '`nostrPubkey` is not a 64-hex key')
  return params.nostrPubkey
}

/**
 * The nostrPubkey per address for `ttlMs`, so scoring many receipts asks each server once. At most
 * `maxEntries` addresses are kept (the oldest goes first); a failure is not kept.
 */
export class LnurlPubkeyCache {
  readonly #entries = new Map<string, { at: number; pubkey: Promise<string> }>()
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #now: () => number

  constructor(opts: { ttlMs: number; maxEntries?: number; now?: () => number }) {
    this.#ttlMs = opts.ttlMs
    this.#maxEntries = opts.maxEntries ?? 1000
    this.#now = opts.now ?? Date.now
  }

  get(lud16: string, opts: LnurlOptions): Promise<string> {
    const key = lud16.toLowerCase()
    const hit = this.#entries.get(key)
    if (hit && this.#now() - hit.at < this.#ttlMs) return hit.pubkey
    this.#entries.delete(key)
    const pubkey = lnurlNostrPubkey(lud16, opts)
    this.#entries.set(key, { at: this.#now(), pubkey })
    pubkey.catch(() => {
      if (this.#entries.get(key)?.pubkey === pubkey) this.#entries.delete(key)
    })
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string)
    return pubkey
  }
}

function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase()
  if (host === 'localhost' || host === '[::1]') return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split('.').every((n) => Number(n) <= 255)
}

async function getJson(shown: string, url: URL, opts: LnurlOptions): Promise<Record<string, unknown>> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(new Error(`no answer in ${opts.timeoutMs} ms`)), opts.timeoutMs)
  try {
    const res = await (opts.fetch ?? fetch)(url, { redirect: 'error', signal: abort.signal })
    if (!res.ok) throw ZapError.LNURL_FAILED(shown, `HTTP ${res.status}`)
    const text = await readCappedText(res, MAX_BODY)
    if (text === null) throw ZapError.LNURL_FAILED(shown, `its answer is larger than ${MAX_BODY / 1024} KiB`)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw ZapError.LNURL_FAILED(shown, 'its answer is not JSON')
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json))
      throw ZapError.LNURL_FAILED(shown, 'its answer is not a JSON object')
    return json as Record<string, unknown>
  } catch (err) {
    if (err instanceof ZapError) throw err
    const why = abort.signal.aborted ? String((abort.signal.reason as Error).message) : (err as Error).message
    throw ZapError.LNURL_FAILED(shown, why.slice(0, 200), err)
  } finally {
    clearTimeout(timer)
    // Whatever was left unread (an endless body) is dropped with the connection.
    abort.abort()
  }
}
