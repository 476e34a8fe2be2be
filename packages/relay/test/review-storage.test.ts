// Hostile review: what a stranger learns when a write fails.

import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { generateSecretKey } from 'nostr-tools/pure'
import { OPEN_POLICY } from '../src/index.js'
import { cleanups, rawClient, relay, sign, tempDir } from './helpers.js'

describe('review: a failed write', () => {
  it("refuses the event without telling the stranger the server's file paths", async () => {
    const dir = await tempDir()
    const db = join(dir, 'relay.sqlite')
    const running = await relay({ db, policy: OPEN_POLICY })
    // Another process holds the write lock (as a full disk or an operator's sqlite3 shell would fail it).
    const other = new Database(db)
    other.exec('BEGIN EXCLUSIVE')
    cleanups.push(() => other.close())
    const client = await rawClient(running.url)
    const event = sign(generateSecretKey(), { kind: 1, content: 'x' })
    client.ws.send(JSON.stringify(['EVENT', event]))
    const [type, id, ok, reason] = await client.next()
    expect([type, id, ok]).toEqual(['OK', event.id, false])
    expect(reason).toMatch(/^error: /)
    expect(reason).not.toContain(dir)
  })
})
