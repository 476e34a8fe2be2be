// What one identity has done that it must never do again, each as a ClaimRecord of @2020117/files
// beside the keys file: the payment hashes it paid (SPEC §10.4: "a payment hash never paid before
// (kept on disk)"), and the requests it posted. Two runs of 2020117-job with the same identity may
// run at once: each claim takes the record's lock file and reads the record again from disk, so
// that what one run claimed is seen by the other, and neither's write drops the other's claim.

import { dirname, join } from 'node:path'
import { ClaimRecord, lockFile } from '@2020117/files'

/** How long a claim waits for another run that holds the lock (it holds it for one file write). */
const LOCK_WAIT_MS = 10_000
/**
 * A paid hash is kept a year at least, not only until its invoice expires: a provider may put the
 * same hash in a new invoice, and whoever saw its preimage on the first route could take the second
 * payment. A year of hashes is about 80 bytes a paid job: the record stays small.
 */
const KEEP_PAID_AT_LEAST_S = 365 * 24 * 3600

class IdentityClaims {
  readonly path: string
  private record: ClaimRecord
  private readonly keepAtLeastS: number

  protected constructor(path: string, record: ClaimRecord, keepAtLeastS: number) {
    this.path = path
    this.record = record
    this.keepAtLeastS = keepAtLeastS
  }

  /** The record `what` of identity `name`, whose keys file is `keysFile`. */
  protected static async at(
    keysFile: string,
    name: string,
    what: string
  ): Promise<{ path: string; record: ClaimRecord }> {
    const path = join(dirname(keysFile), `.2020117_${what}_${name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`)
    return { path, record: await ClaimRecord.open(path) }
  }

  /** Whether the key was claimed, as far as this run has read the record. `claim` asks the disk again. */
  has(key: string): boolean {
    return this.record.has(key)
  }

  /** Claims the key: true once, across runs and restarts; on disk when it resolves. */
  async claim(key: string, keepUntil: number): Promise<boolean> {
    const release = await lockFile(`${this.path}.lock`, { waitMs: LOCK_WAIT_MS })
    try {
      this.record = await ClaimRecord.open(this.path)
      return await this.record.claim(key, Math.max(keepUntil, Math.floor(Date.now() / 1000) + this.keepAtLeastS))
    } finally {
      await release()
    }
  }
}

/** The payment hashes an identity paid: each is claimed before the wallet is asked to pay it. */
export class PaidHashes extends IdentityClaims {
  static async open(keysFile: string, name: string): Promise<PaidHashes> {
    const { path, record } = await IdentityClaims.at(keysFile, name, 'paid')
    return new PaidHashes(path, record, KEEP_PAID_AT_LEAST_S)
  }
}

/**
 * The ids of the requests an identity posted, each kept until its request expires. The same job
 * posted twice within one second is the same event (NIP-01 ids have no nonce): the second run
 * would follow the first one's answers, offers already paid among them. A run claims its request
 * id before it follows it, and one that was posted is made again, a second later.
 */
export class PostedRequests extends IdentityClaims {
  static async open(keysFile: string, name: string): Promise<PostedRequests> {
    const { path, record } = await IdentityClaims.at(keysFile, name, 'requests')
    return new PostedRequests(path, record, 0)
  }
}
