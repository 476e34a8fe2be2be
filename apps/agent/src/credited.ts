// The payment hashes this provider has credited (SPEC §5.3): a payment counts once, in one session,
// whatever the invoicer hands out again. An LNURL server can return one invoice twice, and a
// customer holding its preimage would otherwise get receipts for it in every session it opens.
//
// Invariants: a hash is claimed at most once per file, across sessions and restarts; a claim is on
// disk (atomic write) before the payment counts; an entry is kept until its invoice has expired
// (with an hour's margin for clocks), because an expired invoice is never billed again, so the file
// holds only the hashes of live invoices.

import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { CliError } from '@2020117/cli'
import { writeFileAtomic } from '@2020117/files'

const VERSION = 1
const MARGIN_SECS = 3600

export class CreditedPayments {
  /** The file, or null for a record that lives in memory only (tests). */
  readonly path: string | null
  private readonly hashes: Map<string, number>
  private readonly clock: () => number
  private writing: Promise<void> = Promise.resolve()

  private constructor(path: string | null, hashes: Map<string, number>, clock: () => number) {
    this.path = path
    this.hashes = hashes
    this.clock = clock
  }

  static memory(clock: () => number = Date.now): CreditedPayments {
    return new CreditedPayments(null, new Map(), clock)
  }

  /** Reads the record at `path` (none yet is an empty record); a file that does not parse is refused. */
  static async open(path: string, clock: () => number = Date.now): Promise<CreditedPayments> {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new CreditedPayments(path, new Map(), clock)
      throw CliError.STATE_FILE_INVALID(path, (err as Error).message)
    }
    return new CreditedPayments(path, parse(path, text), clock)
  }

  has(paymentHash: string): boolean {
    return this.hashes.has(paymentHash.toLowerCase())
  }

  /**
   * Records `paymentHash` (its invoice expiring at `expiresAt`, unix seconds) as credited. False if
   * it already was. Resolves once the record is on disk; rejects if it could not be written (the
   * hash is then recorded in memory only).
   */
  async claim(paymentHash: string, expiresAt: number): Promise<boolean> {
    const hash = paymentHash.toLowerCase()
    if (this.hashes.has(hash)) return false
    this.hashes.set(hash, expiresAt)
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
    for (const [hash, expiresAt] of this.hashes) if (expiresAt + MARGIN_SECS < now) this.hashes.delete(hash)
    return JSON.stringify({ version: VERSION, credited: Object.fromEntries(this.hashes) }) + '\n'
  }
}

function parse(path: string, text: string): Map<string, number> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw CliError.STATE_FILE_INVALID(path, 'not JSON')
  }
  const record = value as { version?: unknown; credited?: unknown }
  const shaped = record !== null && typeof record === 'object' && record.version === VERSION
  if (!shaped || record.credited === null || typeof record.credited !== 'object') {
    throw CliError.STATE_FILE_INVALID(path, `not a version ${VERSION} record of credited payments`)
  }
  const hashes = new Map<string, number>()
  for (const [hash, expiresAt] of Object.entries(record.credited as Record<string, unknown>)) {
    if (!/^[0-9a-f]{64}$/.test(hash) || !Number.isSafeInteger(expiresAt)) {
      throw CliError.STATE_FILE_INVALID(path, `bad entry ${JSON.stringify(hash.slice(0, 64))}`)
    }
    hashes.set(hash, expiresAt as number)
  }
  return hashes
}

/** Where agent `name` keeps its record: beside the keys file that holds its identity. */
export function creditedPath(keysFile: string, name: string): string {
  return join(dirname(keysFile), `.2020117_credited_${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`)
}
