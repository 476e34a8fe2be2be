// The payment hashes one identity ever paid (SPEC §10.4: "a payment hash never paid before (kept
// on disk)"), as a ClaimRecord of @2020117/files beside the keys file. Two runs of 2020117-job with
// the same identity may run at once: each claim takes the record's lock file and reads the record
// again from disk, so that a hash one run paid is seen by the other, and neither's write drops the
// other's claim.

import { dirname, join } from 'node:path'
import { ClaimRecord, lockFile } from '@2020117/files'

/** How long a claim waits for another run that holds the lock (it holds it for one file write). */
const LOCK_WAIT_MS = 10_000
/**
 * A paid hash is kept a year at least, not only until its invoice expires: a provider may put the
 * same hash in a new invoice, and whoever saw its preimage on the first route could take the second
 * payment. A year of hashes is about 80 bytes a paid job: the record stays small.
 */
const KEEP_AT_LEAST_S = 365 * 24 * 3600

export class PaidHashes {
  readonly path: string
  private record: ClaimRecord

  private constructor(path: string, record: ClaimRecord) {
    this.path = path
    this.record = record
  }

  /** The record of identity `name`, whose keys file is `keysFile`. */
  static async open(keysFile: string, name: string): Promise<PaidHashes> {
    const path = join(dirname(keysFile), `.2020117_paid_${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`)
    return new PaidHashes(path, await ClaimRecord.open(path))
  }

  /** Whether the hash was paid, as far as this run has read the record. `claim` asks the disk again. */
  has(hash: string): boolean {
    return this.record.has(hash)
  }

  /** Claims the hash before it is paid: true once, across runs and restarts; on disk when it resolves. */
  async claim(hash: string, keepUntil: number): Promise<boolean> {
    const release = await lockFile(`${this.path}.lock`, { waitMs: LOCK_WAIT_MS })
    try {
      this.record = await ClaimRecord.open(this.path)
      return await this.record.claim(hash, Math.max(keepUntil, Math.floor(Date.now() / 1000) + KEEP_AT_LEAST_S))
    } finally {
      await release()
    }
  }
}
