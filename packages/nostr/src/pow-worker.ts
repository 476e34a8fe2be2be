// Runs in a worker thread (pow.ts): NIP-13 mining is a hash loop that would stall the event loop
// (ticks, billing, heartbeats) for seconds. nostr-tools' minePow adds the `nonce` tag with its
// committed target and sets `created_at` to the time it found the id.

import { parentPort, workerData } from 'node:worker_threads'
import { minePow } from 'nostr-tools/nip13'
import type { UnsignedEvent } from 'nostr-tools/pure'

const { template, bits } = workerData as { template: UnsignedEvent; bits: number }
parentPort?.postMessage(minePow(template, bits))
