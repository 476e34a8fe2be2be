// The service on its own (src/jobs/service.ts) over a relay that drops live events: a request the
// live subscription never delivered is found by asking the relays again, and handled once.

import { expect, test } from 'vitest'
import { generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { buildRequest } from '@2020117/jobs'
import { ClaimRecord } from '@2020117/files'
import { createLogger } from '@2020117/cli'
import type { RelayPool } from '@2020117/nostr'
import { JobService } from '../src/jobs/service.js'
import { JobStore } from '../src/jobs/store.js'

test('a request the live subscription dropped is taken from the next sweep, once', async () => {
  const providerKey = generateSecretKey()
  const request = buildRequest({ kind: 5050, inputs: [{ data: 'late', type: 'text' }] }, generateSecretKey())
  const published: Event[] = []
  let queries = 0
  let onQuery = () => {}
  // A relay that never delivers live and answers every query with the request it holds.
  const pool = {
    relays: ['ws://relay.test'],
    subscribe: () => ({ ready: Promise.resolve(), close() {} }),
    query: async (filter: { kinds?: number[] }) => {
      queries++
      onQuery()
      return filter.kinds?.includes(5050) ? [request] : []
    },
    publish: async (event: Event) => (published.push(event), 1),
    // The answers go through the pool's proof of work; this relay prices nothing.
    publishWithPow: async (event: Event) => (
      published.push(event),
      { event, accepted: ['ws://relay.test'], refused: [] }
    )
  } as unknown as RelayPool
  const events: Array<Record<string, unknown>> = []
  let onDelivered = () => {}
  const delivered = new Promise<void>((resolve) => (onDelivered = resolve))
  const service = new JobService({
    kinds: [5050],
    terms: { pubkey: getPublicKey(providerKey), secretKey: providerKey, priceMsat: () => 0, imageOutput: () => false },
    payAfter: false,
    maxJobs: 2,
    sweepMs: 50,
    secretKey: providerKey,
    store: JobStore.memory(),
    credited: ClaimRecord.memory(),
    wallet: null,
    processor: {
      describe: 'echo',
      run: async (w) => ({ data: new TextEncoder().encode(w.input), mime: 'text/plain' })
    },
    pool,
    reach: { own: pool.relays, local: false },
    timeoutMs: 5000,
    maxOutputBytes: 1024,
    paymentSeconds: 5,
    upload: null,
    log: createLogger({ level: 'error' }),
    emit: (e) => {
      events.push(e)
      if (e.event === 'job_delivered') onDelivered()
    }
  })
  await service.start()
  await delivered
  // Three more sweeps hand the same request again: it is not taken twice.
  const after = queries
  await new Promise<void>((resolve) => (onQuery = () => queries >= after + 3 && resolve()))
  await service.stop()
  const results = published.filter((e) => e.kind === 6050)
  expect(results).toHaveLength(1)
  expect(results[0]!.content).toBe('late')
  expect(events.filter((e) => e.event === 'job_accepted')).toHaveLength(1)
})
