// A hostile review of job mode, the service on its own (src/jobs/service.ts) over a fake relay the
// test drives: what strangers' events do to the requests of others.

import { expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { buildCancellation, buildRequest } from '@2020117/jobs'
import { ClaimRecord } from '@2020117/files'
import { createLogger } from '@2020117/cli'
import type { RelayPool } from '@2020117/nostr'
import { JobService } from '../src/jobs/service.js'
import { JobStore } from '../src/jobs/store.js'

test("hole: a stranger's deletion after the author's, both before the request, undid the cancellation", async () => {
  const providerKey = generateSecretKey()
  const customerKey = generateSecretKey()
  const listeners: Array<(e: Event, relay: string) => void> = []
  const pool = {
    relays: ['ws://relay.test'],
    subscribe: (_f: unknown, onevent: (e: Event, relay: string) => void) => {
      listeners.push(onevent)
      return { ready: Promise.resolve(), close() {} }
    },
    query: async () => [],
    publish: async () => 1,
    publishWithPow: async (event: Event) => ({ event, accepted: ['ws://relay.test'], refused: [] })
  } as unknown as RelayPool
  const accepted: string[] = []
  let onAccepted = () => {}
  const service = new JobService({
    kinds: [5050],
    terms: { pubkey: getPublicKey(providerKey), secretKey: providerKey, priceMsat: () => 0 },
    payAfter: false,
    maxJobs: 4,
    sweepMs: 60_000,
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
      if (e.event !== 'job_accepted') return
      accepted.push(e.requestId as string)
      onAccepted()
    }
  })
  await service.start()
  const [onRequest, onDeletion] = listeners as [(e: Event, r: string) => void, (e: Event, r: string) => void]
  const request = buildRequest({ kind: 5050, inputs: [{ data: 'cancelled early', type: 'text' }] }, customerKey)
  const stranger = finalizeEvent(
    {
      kind: 5,
      created_at: request.created_at,
      tags: [
        ['e', request.id],
        ['k', '5050']
      ],
      content: ''
    },
    generateSecretKey()
  )
  onDeletion(buildCancellation(request, customerKey), 'ws://relay.test')
  onDeletion(stranger, 'ws://relay.test')
  onRequest(request, 'ws://relay.test')
  // A later request of the same customer: once it is taken, the first was decided.
  const later = buildRequest({ kind: 5050, inputs: [{ data: 'later', type: 'text' }] }, customerKey)
  const taken = new Promise<void>((resolve) => (onAccepted = () => accepted.includes(later.id) && resolve()))
  onRequest(later, 'ws://relay.test')
  await taken
  await service.stop()
  expect(accepted).toEqual([later.id])
})
