// The CLIs that run bundled (scripts/bundle.mjs: 2020117-session and 2020117-job). What a bundle can
// get wrong is what it leaves beside itself: each package it loads at run time must resolve from its
// own folder (an app's dependency, so it does in an install too), and the proof-of-work worker,
// which pow.ts finds next to the module that starts it, must be there and work.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { getEventHash, type UnsignedEvent } from 'nostr-tools/pure'
import { describe, expect, test } from 'vitest'
import { BUNDLES, EXTERNAL } from '../bundle.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe.each(BUNDLES.map((b) => b.outdir))('%s', (outdir) => {
  const main = join(root, outdir, 'main.js')

  test('what it leaves out resolves from its folder, and no workspace package is loaded beside it', () => {
    const text = readFileSync(main, 'utf8')
    const left = EXTERNAL.filter((name) => text.includes(`("${name}")`) || text.includes(`("${name}/`))
    expect(left.length).toBeGreaterThan(0)
    const require = createRequire(main)
    for (const name of left) expect(() => require.resolve(name), name).not.toThrow()
    expect(text).not.toMatch(/(?:from |import\(|require\()["']@2020117\//)
  })

  test('its proof-of-work worker mines an event to the bits asked for', async () => {
    const template: UnsignedEvent = {
      kind: 1,
      created_at: Math.floor(Date.now() / 1000),
      tags: [],
      content: 'bundle',
      pubkey: 'a'.repeat(64)
    }
    const mined = await new Promise<UnsignedEvent & { id: string }>((resolve, reject) => {
      const w = new Worker(join(root, outdir, 'pow-worker.js'), { workerData: { template, bits: 8 }, execArgv: [] })
      w.once('message', resolve)
      w.once('error', reject)
    })
    expect(mined.id).toBe(getEventHash(mined))
    expect(mined.id.slice(0, 2)).toBe('00')
    expect(mined.tags.find((t) => t[0] === 'nonce')?.[2]).toBe('8')
  })
})
