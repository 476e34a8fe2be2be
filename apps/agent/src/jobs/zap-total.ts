// `["param", "min_zap_sats", N]` (SPEC §11.6): a request that asks for more validated zaps than this
// provider has gets no answer. The provider's own total is its zap receipts (kind 9735, `#p` = us)
// on its relays, each checked per NIP-57 Appendix F against the nostrPubkey of its own zap address,
// on its wallet's network, deduped by payment hash, in whole sats.
//
// Invariants: a flood of requests costs one relay read and one LNURL read per TTL (concurrent
// askers share one read, a failed read counts 0 until the next); no zap address means a total of 0;
// a receipt that fails any check adds nothing (validateZapReceipt verifies every signature itself).

import type { JobRequest } from '@2020117/jobs'
import { kinds as KIND, MAX_MIN_ZAP_SATS, MAX_SIGNAL_EVENTS, MIN_ZAP_SATS_PARAM } from '@2020117/protocol'
import type { RelayPool } from '@2020117/nostr'
import type { Logger } from '@2020117/cli'
import { dedupeZaps, isZapError, LnurlPubkeyCache, validateZapReceipt, type ValidZap } from '@2020117/zaps'
import type { NetworkName } from '@2020117/wallet'

/** How long a computed total (and the LNURL server's key) is kept. */
export const ZAP_TOTAL_TTL_MS = 60_000

const MIN_ZAP = /^(0|[1-9][0-9]{0,15})$/

/**
 * The request's min_zap_sats: null when it has none, 'invalid' when it is not a non-negative
 * integer in decimal of at most MAX_MIN_ZAP_SATS (the request is then malformed, as one with a bad
 * amount is).
 */
export function minZapSatsOf(request: Pick<JobRequest, 'params'>): number | null | 'invalid' {
  const value = request.params[MIN_ZAP_SATS_PARAM]
  if (value === undefined) return null
  return MIN_ZAP.test(value) && Number(value) <= MAX_MIN_ZAP_SATS ? Number(value) : 'invalid'
}

export interface ZapTotalOptions {
  pool: Pick<RelayPool, 'query'>
  /** Our hex pubkey: the zaps' recipient. */
  recipient: string
  /** The Lightning address our profile publishes (lud16); null: no zaps can be checked. */
  zapAddress: string | null
  /** Our wallet's network: a receipt whose invoice is on another network is not ours to count. */
  network: NetworkName
  log: Logger
  ttlMs?: number
  now?: () => number
  fetch?: typeof fetch
}

export class ZapTotal {
  private readonly opts: ZapTotalOptions
  private readonly lnurl: LnurlPubkeyCache
  private cached: { at: number; sats: Promise<number> } | null = null

  constructor(opts: ZapTotalOptions) {
    this.opts = opts
    this.lnurl = new LnurlPubkeyCache({ ttlMs: opts.ttlMs ?? ZAP_TOTAL_TTL_MS, maxEntries: 1, now: opts.now })
  }

  /** Our validated zap total in sats, read at most once per TTL. */
  sats(): Promise<number> {
    if (this.opts.zapAddress === null) return Promise.resolve(0)
    const now = (this.opts.now ?? Date.now)()
    if (this.cached && now - this.cached.at < (this.opts.ttlMs ?? ZAP_TOTAL_TTL_MS)) return this.cached.sats
    const sats = this.read(this.opts.zapAddress).catch((err: Error) => {
      this.opts.log.warn(`cannot count our zaps (a min_zap_sats request is not answered meanwhile): ${err.message}`)
      return 0
    })
    this.cached = { at: now, sats }
    return sats
  }

  private async read(zapAddress: string): Promise<number> {
    const { pool, recipient, network, log } = this.opts
    // Our own configured address: plain http is allowed to loopback (the local network, tests).
    const lnurlNostrPubkey = await this.lnurl.get(zapAddress, {
      timeoutMs: 5000,
      allowHttpLoopback: true,
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {})
    })
    // Only the server's receipts can count: asked by author, so that receipts anyone else signs
    // (free to publish, in any number, all newer) cannot push the real ones out of the answer.
    const receipts = await pool.query(
      { kinds: [KIND.Zap], authors: [lnurlNostrPubkey], '#p': [recipient], limit: MAX_SIGNAL_EVENTS },
      4000
    )
    const valid: ValidZap[] = []
    for (const receipt of receipts.slice(0, MAX_SIGNAL_EVENTS)) {
      try {
        const zap = validateZapReceipt(receipt, { recipient, lnurlNostrPubkey })
        if (zap.network === network) valid.push(zap)
      } catch (err) {
        if (!isZapError(err)) throw err // a refusal counts nothing; anything else is our bug
      }
    }
    const counted = dedupeZaps(valid)
    const sats = Math.floor(counted.reduce((msat, z) => msat + z.amountMsat, 0) / 1000)
    log.debug(`zap total: ${sats} sats from ${counted.length} of ${receipts.length} receipt(s) (${zapAddress})`)
    return sats
  }
}
