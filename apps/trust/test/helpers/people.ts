// People for the 2020117-trust tests: each a Nostr key in one keys file, so that a test knows who
// ran the bin (the viewer, the voucher, the customer) and can read what it published on the relay.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { npubOf, RelayPool } from '@2020117/nostr'
import { spawnBin, type Proc, type TestNetwork } from '@2020117/testkit'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event, type EventTemplate } from 'nostr-tools/pure'

export interface Person {
  name: string
  secretKey: Uint8Array
  pubkey: string
  npub: string
  /** Runs `2020117-trust <args>` as this person on the test network. */
  trust(args: string[]): Proc
  /** Signs and publishes an event as this person (a kind 3, a job request). */
  publish(template: Omit<EventTemplate, 'created_at'>): Promise<Event>
}

/** A key that nobody runs the bin as: a provider the tests rate and review. */
export function stranger(): { pubkey: string; npub: string } {
  const pubkey = getPublicKey(generateSecretKey())
  return { pubkey, npub: npubOf(pubkey) }
}

/** One keys file for `names`, removed after the file's tests; a relay pool on the test network's relay. */
export async function people<N extends string>(
  net: TestNetwork,
  names: N[]
): Promise<Record<N, Person> & { pool: RelayPool }> {
  const dir = await mkdtemp(join(tmpdir(), 'trust-keys-'))
  const pool = new RelayPool([net.devnet.relay.url])
  afterAll(async () => {
    pool.close()
    await rm(dir, { recursive: true, force: true })
  })
  const file = join(dir, 'keys.json')
  const keys = Object.fromEntries(names.map((name) => [name, generateSecretKey()])) as Record<N, Uint8Array>
  const entries = Object.fromEntries(
    names.map((n) => [n, { privkey: Buffer.from(keys[n]).toString('hex'), pubkey: getPublicKey(keys[n]) }])
  )
  await writeFile(file, JSON.stringify(entries), { mode: 0o600 })
  const out = { pool } as Record<N, Person> & { pool: RelayPool }
  for (const name of names) {
    const secretKey = keys[name]
    const pubkey = getPublicKey(secretKey)
    out[name] = {
      name,
      secretKey,
      pubkey,
      npub: npubOf(pubkey),
      trust: (args) =>
        spawnBin('trust', [args[0] as string, net.flag, `--keys-file=${file}`, `--agent=${name}`, ...args.slice(1)]),
      // With the proof of work the relay's policy asks (a kind 3: 20 bits, a job request: 10).
      async publish(template) {
        const own = new RelayPool([net.devnet.relay.url], { secretKey })
        try {
          const signed = finalizeEvent({ ...template, created_at: Math.floor(Date.now() / 1000) }, secretKey)
          const { event, accepted } = await own.publishWithPow(signed)
          if (accepted.length !== 1) throw new Error(`the relay did not take ${name}'s kind ${event.kind}`)
          return event
        } finally {
          own.close()
        }
      }
    }
  }
  return out
}
