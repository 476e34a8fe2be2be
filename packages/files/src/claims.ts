// A record of things that may happen once: payment hashes a provider credited, payment hashes a
// customer paid, job requests a provider handled. Each key is claimed at most once per file,
// across processes that take turns and across restarts.
//
// Invariants: a claim is on disk (atomic write) before it resolves true, so whatever it guards
// (crediting, paying, working) happens after the record says so; a key is kept until its keep-until
// time has passed by an hour's margin for clocks, so the file holds only keys that could still
// come back. Keys are 64 lower-case hex characters (hashes, event ids).

import { readFile } from 'node:fs/promises'
import { FilesError } from './errors.js'
import { writeFileAtomic } from './files.js'

const VERSION = 1
const MARGIN_SECS = 3600
const KEY = /^[0-9a-f]{64}$/

export class ClaimRecord {
  /** The file, or null for a record that lives in memory only (tests). */
  readonly path: string | null
  private readonly keys: Map<string, number>
  private readonly clock: () => number
  private writing: Promise<void> = Promise.resolve()

  private constructor(path: string | null, keys: Map<string, number>, clock: () => number) {
    this.path = path
    this.keys = keys
    this.clock = clock
  }

  static memory(clock: () => number = Date.now): ClaimRecord {
    return new ClaimRecord(null, new Map(), clock)
  }

  /** Reads the record at `path` (none yet is an empty record); a file that does not parse is refused. */
  static async open(path: string, clock: () => number = Date.now): Promise<ClaimRecord> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new ClaimRecord(path, new Map(), clock)
      throw FilesError.STATE_FILE_INVALID(path, (err as Error).message)
    }
    return new ClaimRecord(path, parse(path, text), clock)
  }

  has(key: string): boolean {
    return this.keys.has(key.toLowerCase())
  }

  get size(): number {
    return this.keys.size
  }

  /**
   * Records `key`, kept until `keepUntil` (unix seconds). False if it already was. Resolves once
   * the record is on disk; rejects if it could not be written (the key then stays claimed in
   * memory, so this process still never does the thing twice).
   */
  async claim(key: string, keepUntil: number): Promise<boolean> {
    const k = key.toLowerCase()
    if (!KEY.test(k)) throw new TypeError('a claim key is 64 hex characters')
    if (this.keys.has(k)) return false
    this.keys.set(k, keepUntil)
    await this.persist()
    return true
  }

  private persist(): Promise<void> {
    const path = this.path
    if (path === null) return Promise.resolve()
    const run = this.writing.then(() => writeFileAtomic(path, this.serialise()))
    this.writing = run.catch(() => {})
    return run
  }

  private serialise(): string {
    const now = this.clock() / 1000
    for (const [key, keepUntil] of this.keys) if (keepUntil + MARGIN_SECS < now) this.keys.delete(key)
    return JSON.stringify({ version: VERSION, claimed: Object.fromEntries(this.keys) }) + '\n'
  }
}

function parse(path: string, text: string): Map<string, number> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw FilesError.STATE_FILE_INVALID(path, 'not JSON')
  }
  // `credited` is what the agent's record of credited payments was called before it was this one.
  const record = value as { version?: unknown; claimed?: unknown; credited?: unknown }
  const claimed = record?.claimed ?? record?.credited
  const shaped = record !== null && typeof record === 'object' && record.version === VERSION
  if (!shaped || claimed === null || typeof claimed !== 'object') {
    throw FilesError.STATE_FILE_INVALID(path, `not a version ${VERSION} record of claims`)
  }
  const keys = new Map<string, number>()
  for (const [key, keepUntil] of Object.entries(claimed as Record<string, unknown>)) {
    if (!KEY.test(key) || !Number.isSafeInteger(keepUntil)) {
      throw FilesError.STATE_FILE_INVALID(path, `bad entry ${JSON.stringify(key.slice(0, 64))}`)
    }
    keys.set(key, keepUntil as number)
  }
  return keys
}
