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
  const tagFilters = Object.entries(filter).filter(
    (entry): entry is [string, string[]] => TAG_KEY.test(entry[0]) && Array.isArray(entry[1])
  )
  if (tagFilters.some(([, values]) => values.length === 0)) return null
  const [driving, ...others] = tagFilters
  // With a tag filter the query walks the tag index (name, value, created_at DESC), so the time
  // column is the tag row's copy of the event's created_at: rows come out newest first and LIMIT
  // stops the walk, instead of every match being sorted first.
  const time = driving ? 't.created_at' : 'e.created_at'
  const where: string[] = []
  const params: (string | number)[] = []
  if (driving) drivingTag(driving, where, params)
  where.push('(e.expiration IS NULL OR e.expiration > ?)')
  params.push(nowSeconds)
  if (!listConditions(filter, where, params)) return null
  if (filter.since !== undefined) {
    where.push(`${time} >= ?`)
    params.push(filter.since)
  }
  if (filter.until !== undefined) {
    where.push(`${time} <= ?`)
    params.push(filter.until)
  }
  for (const [key, values] of others) {
    // The tag's name is a bound parameter too, though TAG_KEY has already checked it.
    where.push(`e.seq IN (SELECT t.event FROM tags t WHERE t.name = ? AND t.value IN (${placeholders(values.length)}))`)
    params.push(key.slice(1), ...values)
  }
  params.push(limit)
  const from = driving ? 'tags t JOIN events e ON e.seq = t.event' : 'events e'
  const sql = `SELECT ${COLUMNS} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${time} DESC, e.id ASC LIMIT ?`
  return { sql, params }
}

// One event can match the driving tag filter through several of its tag rows (["t","a"] and
// ["t","b"] for #t [a, b], or a repeated tag): only the first of them counts, so each event is
// returned once.
function drivingTag([key, values]: [string, string[]], where: string[], params: (string | number)[]): void {
  const list = placeholders(values.length)
  where.push(`t.name = ? AND t.value IN (${list})`)
  where.push(
    `t.rowid = (SELECT min(u.rowid) FROM tags u WHERE u.event = t.event AND u.name = t.name AND u.value IN (${list}))`
  )
  params.push(key.slice(1), ...values, ...values)
}

/** Adds the ids, authors and kinds conditions; false when one of them is an empty list. */
function listConditions(filter: Filter, where: string[], params: (string | number)[]): boolean {
  const lists: Array<[string, readonly (string | number)[] | undefined]> = [
    ['e.id', filter.ids],
    ['e.pubkey', filter.authors],
    ['e.kind', filter.kinds]
  ]
  for (const [column, values] of lists) {
    if (values === undefined) continue
    if (values.length === 0) return false
    where.push(`${column} IN (${placeholders(values.length)})`)
    params.push(...values)
  }
  return true
}
