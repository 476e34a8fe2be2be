// Hostile review: REQs whose SQL sorts every matching row before it applies `limit`. better-sqlite3
// is synchronous, so such a query holds the relay's event loop: measured on 100k stored events with
// one common tag value, one filter `{"#t": ["common"]}` took ~300 ms; a REQ carries 10 filters and a
// connection may send 100 REQs at once, so one stranger stalls every other client for minutes.

import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { SqliteEventRepository } from '../src/index.js'
import { filterQuery } from '../src/sql.js'
import { tempDir } from './helpers.js'

async function plan(filter: object): Promise<string[]> {
  const path = join(await tempDir(), 'plan.sqlite')
  await new SqliteEventRepository(path, 500).destroy()
  const db = new Database(path, { readonly: true })
  try {
    const query = filterQuery(filter as never, 1, 500)!
    return db
      .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${query.sql}`)
      .all(...query.params)
      .map((row) => row.detail)
  } finally {
    db.close()
  }
}

describe('review: a filter cannot make the relay sort every match', () => {
  it.each([
    ['a tag value', { '#t': ['common'] }],
    ['an author', { authors: ['ab'.repeat(32)] }]
  ])('reads the newest events of %s in index order (no full sort before LIMIT)', async (_name, filter) => {
    expect(await plan(filter)).not.toContain('USE TEMP B-TREE FOR ORDER BY')
  })
})
