// What a relay asks of the events it takes (SPEC §12.3), read from its NIP-11 document before the
// first publish so that proof of work is mined once, to the right price. The document is a
// stranger's: the request is bounded in time and size, and a relay without a readable one is taken
// as open (OPEN_RELAY_POLICY) — its `pow:` refusal is the backstop, after which the caller reads
// the document again (`refresh`).

import { OPEN_RELAY_POLICY, relayInfoUrl, relayPolicyFromInfo, type RelayPolicy } from '@2020117/protocol'
import { printable } from './errors.js'

export const POLICY_TIMEOUT_MS = 3000
export const MAX_POLICY_BYTES = 64 * 1024
/** A document read is kept this long; a relay that gave none is asked again sooner. */
const POLICY_TTL_MS = 60 * 60_000
const NO_POLICY_TTL_MS = 60_000
const MAX_CACHED = 256

export interface ReadPolicyOptions {
  /** Ask the relay again instead of using what is cached (after a `pow:` refusal). */
  refresh?: boolean
  timeoutMs?: number
  maxBytes?: number
  /** Told when a relay has no readable document (not an error: it is then taken as open). */
  log?: (msg: string, fields?: Record<string, unknown>) => void
}

const cache = new Map<string, { policy: Promise<RelayPolicy>; until: number }>()

/** The policy of the relay at `url` (ws:// or wss://), cached per URL. Never rejects. */
export function readRelayPolicy(url: string, opts: ReadPolicyOptions = {}): Promise<RelayPolicy> {
  const hit = cache.get(url)
  if (hit && !opts.refresh && hit.until > Date.now()) return hit.policy
  const entry = { policy: Promise.resolve(OPEN_RELAY_POLICY), until: Date.now() + POLICY_TTL_MS }
  entry.policy = fetchPolicy(url, opts).then(
    (policy) => policy,
    (err: Error) => {
      entry.until = Date.now() + NO_POLICY_TTL_MS
      opts.log?.(`relay ${printable(url, 200)} states no readable policy (NIP-11): taking it as open`, {
        relay: printable(url, 200),
        why: printable(err.message, 200)
      })
      return OPEN_RELAY_POLICY
    }
  )
  cache.delete(url)
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string)
  cache.set(url, entry)
  return entry.policy
}

async function fetchPolicy(url: string, opts: ReadPolicyOptions): Promise<RelayPolicy> {
  const response = await fetch(relayInfoUrl(url), {
    headers: { accept: 'application/nostr+json' },
    redirect: 'manual',
    signal: AbortSignal.timeout(opts.timeoutMs ?? POLICY_TIMEOUT_MS)
  })
  if (!response.ok) {
    await response.body?.cancel()
    throw new Error(`HTTP ${response.status}`)
  }
  const text = await readCapped(response, opts.maxBytes ?? MAX_POLICY_BYTES)
  return relayPolicyFromInfo(JSON.parse(text))
}

/** The body as UTF-8, refused at the first byte past `maxBytes` (the rest is never read). */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new Error(`the document is over ${maxBytes} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
