// One NIP-01 filter as one SQL query. Every value is a bound parameter: the SQL text depends only
// on which fields the filter has and how many values each lists, never on a value, so a peer's
// filter cannot change what the query does (and the statement cache stays small).
// Filters are shape-checked on arrival (messages.ts): arrays of strings, integer kinds and times.

import type { Filter } from '@nostr-relay/common'

export interface FilterQuery {
  sql: string
  params: (string | number)[]
}

const TAG_KEY = /^#[a-zA-Z]$/
const COLUMNS = 'e.seq, e.id, e.pubkey, e.kind, e.created_at, e.content, e.tags, e.sig'

function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(', ')
}

/** The query for `filter`, or null when the filter cannot match anything (an empty list, limit 0). */
export function filterQuery(filter: Filter, nowSeconds: number, maxLimit: number): FilterQuery | null {
  const limit = Math.min(filter.limit ?? maxLimit, maxLimit)
  if (limit <= 0) return null
  const where: string[] = ['(e.expiration IS NULL OR e.expiration > ?)']
  const params: (string | number)[] = [nowSeconds]
  const lists: Array<[string, readonly (string | number)[] | undefined]> = [
    ['e.id', filter.ids],
    ['e.pubkey', filter.authors],
    ['e.kind', filter.kinds]
  ]
  for (const [column, values] of lists) {
    if (values === undefined) continue
    if (values.length === 0) return null
    where.push(`${column} IN (${placeholders(values.length)})`)
    params.push(...values)
  }
  if (filter.since !== undefined) {
    where.push('e.created_at >= ?')
    params.push(filter.since)
  }
  if (filter.until !== undefined) {
    where.push('e.created_at <= ?')
    params.push(filter.until)
  }
  for (const [key, values] of Object.entries(filter)) {
    if (!TAG_KEY.test(key) || !Array.isArray(values)) continue
    if (values.length === 0) return null
    // The tag's name is a bound parameter too, though TAG_KEY has already checked it.
    where.push(`e.seq IN (SELECT t.event FROM tags t WHERE t.name = ? AND t.value IN (${placeholders(values.length)}))`)
    params.push(key.slice(1), ...(values as string[]))
  }
  params.push(limit)
  const sql = `SELECT ${COLUMNS} FROM events e WHERE ${where.join(' AND ')} ORDER BY e.created_at DESC, e.id ASC LIMIT ?`
  return { sql, params }
}
