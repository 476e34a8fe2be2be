// Hostile review of issue 13: a subject's zap receipts were read as the newest kind 9735 naming it,
// whoever signed them, and nothing else asked for the real ones (their signer is the LNURL server,
// no graph member). A relay hands over 500 events per filter at most: 500 newer receipts signed by
// any keys, free to publish, pushed every real one out, and an honest provider's zaps read as 0
// (so a customer's --min-zap-sats refused it). Only the LNURL server's key can sign one that counts.

import { describe, expect, test } from 'vitest'
import type { Event, Filter } from 'nostr-tools'
import type { RelayPool } from '@2020117/nostr'
import { LnurlPubkeyCache } from '@2020117/zaps'
import { ReputationReader } from '@2020117/reputation'
import { follows, key, NOW, provider, server, sign, zap, type Key } from './fixtures.js'

/** What the devnet relay (and most public ones) hands over at most per filter. */
const RELAY_CAP = 500

const profile = sign(provider, 0, [], JSON.stringify({ lud16: 'provider@zaps.example' }))
const real = zap(follows[0] as Key, { amountMsat: 21_000 })
const flood: Event[] = Array.from({ length: RELAY_CAP }, (_, i) => ({
  ...real,
  id: i.toString(16).padStart(64, 'f'),
  pubkey: key().pk,
  created_at: NOW + 1 + i
}))

function matches(f: Filter, e: Event): boolean {
  const tagged = (name: string) => {
    const want = f[`#${name}` as `#${string}`] as string[] | undefined
    return !want || e.tags.some((t) => t[0] === name && want.includes(t[1] as string))
  }
  return (
    (!f.kinds || f.kinds.includes(e.kind)) &&
    (!f.authors || f.authors.includes(e.pubkey)) &&
    ['p', 'd', 'L', 'a', 'e'].every(tagged)
  )
}

/** A relay that honours every filter, newest first, up to its cap. */
const relay = {
  relays: ['ws://127.0.0.1:1'],
  subscribe: (f: Filter, onevent: (e: Event) => void) => {
    const found = [profile, real, ...flood].filter((e) => matches(f, e)).sort((a, b) => b.created_at - a.created_at)
    found.slice(0, Math.min(f.limit ?? RELAY_CAP, RELAY_CAP)).forEach(onevent)
    return { ready: Promise.resolve(), close: () => undefined }
  }
} as unknown as RelayPool

/** The LNURL server answers with the key that signs the provider's receipts. */
class KnownServer extends LnurlPubkeyCache {
  override get(): Promise<string> {
    return Promise.resolve(server.pk)
  }
}

describe('a flood of zap receipts signed by other keys', () => {
  test("does not push the LNURL server's real receipts out of a subject's zaps", async () => {
    const reader = new ReputationReader({
      pool: relay,
      viewer: null,
      network: 'regtest',
      lnurl: new KnownServer({ ttlMs: 1 })
    })
    const rated = (await reader.rate([provider.pk])).get(provider.pk)
    expect(rated?.zaps).toMatchObject({ count: 1, totalSats: 21 })
  })
})
