// The session's bin runs main.ts bundled into one file (scripts/bundle.mjs). What a bundle can get
// wrong is what it leaves beside itself: the packages it loads at run time must resolve from its own
// folder (they are the app's dependencies, so they do in an install too), and the proof-of-work
// worker, which pow.ts finds next to the module that starts it, must be there and work.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { getEventHash, type UnsignedEvent } from 'nostr-tools/pure'
import { expect, test } from 'vitest'
import { EXTERNAL } from '../../../scripts/bundle.mjs'

const bundle = fileURLToPath(new URL('../dist/bundle/main.js', import.meta.url))
const worker = fileURLToPath(new URL('../dist/bundle/pow-worker.js', import.meta.url))

test('what the bundle leaves out resolves from its folder, and no workspace package is loaded beside it', () => {
  const require = createRequire(bundle)
  for (const name of EXTERNAL) expect(() => require.resolve(name), name).not.toThrow()
  const text = readFileSync(bundle, 'utf8')
  expect(text).not.toMatch(/(?:from |import\(|require\()["']@2020117\//)
})

test("the bundle's proof-of-work worker mines an event to the bits asked for", async () => {
  const template: UnsignedEvent = {
    kind: 1,
    created_at: Math.floor(Date.now() / 1000),
    tags: [],
    content: 'bundle',
    pubkey: 'a'.repeat(64)
  }
  const mined = await new Promise<UnsignedEvent & { id: string }>((resolve, reject) => {
    const w = new Worker(worker, { workerData: { template, bits: 8 }, execArgv: [] })
    w.once('message', resolve)
    w.once('error', reject)
  })
  expect(mined.id).toBe(getEventHash(mined))
  expect(mined.id.slice(0, 2)).toBe('00')
  expect(mined.tags.find((t) => t[0] === 'nonce')?.[2]).toBe('8')
})
