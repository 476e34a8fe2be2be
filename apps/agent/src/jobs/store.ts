// What job mode keeps on disk, beside the keys file (as the credited record is): the requests it
// handled (a ClaimRecord: a restart never handles one twice), the cursor it reads relays from, and
// a journal of the jobs in flight, so that a restart mid-job neither charges again nor loses a
// job that was paid: it goes on waiting for the payment, or works and delivers.
//
// Invariants:
// - A job is in the journal (atomic write) before its request id is claimed handled, and before
//   any invoice is shown; it leaves the journal only once it has ended (result or error sent).
// - The phase only moves forward: awaiting_payment → paid → working → delivering; a job is `paid`
//   on disk before any work starts (its payment hash claimed in the credited record before that),
//   and its signed answers are on disk (`delivering`) before they are published, so a crash after
//   the work publishes the same events again (same ids) rather than working twice.
// - The cursor never runs ahead of now, and never back beyond what the handled record still holds.
// - One agent at a time works from these files: the journal's lock file is held while it runs (a
//   second agent of the same name would handle every request a second time).

import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Event } from 'nostr-tools/pure'
import { ClaimRecord, FilesError, lockFile, writeFileAtomic } from '@2020117/files'

const VERSION = 1
/** How long a handled request id is kept, and so the furthest back a restart reads. */
export const HANDLED_KEEP_SECS = 2 * 24 * 3600
/** Read this far behind the cursor: clocks differ and relays deliver late. */
export const CURSOR_SKEW_SECS = 60

export type JobPhase = 'awaiting_payment' | 'paid' | 'working' | 'delivering'

export interface JournalEntry {
  /** The request as received (still encrypted if it was). */
  event: Event
  phase: JobPhase
  priceMsat: number
  payAfter: boolean
  invoice: { bolt11: string; paymentHash: string; expiresAt: number } | null
  /** `delivering`: the result and the success feedback, signed, to publish (again). */
  answers?: Event[]
}

export interface JobStorePaths {
  handled: string
  journal: string
}

/** Where agent `name` keeps its job state: beside the keys file that holds its identity. */
export function jobStorePaths(keysFile: string, name: string): JobStorePaths {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_')
  return {
    handled: join(dirname(keysFile), `.2020117_handled_${safe}.json`),
    journal: join(dirname(keysFile), `.2020117_jobs_${safe}.json`)
  }
}

export class JobStore {
  readonly handled: ClaimRecord
  private readonly path: string | null
  private readonly jobs: Map<string, JournalEntry>
  private cursorSecs: number
  private writing: Promise<void> = Promise.resolve()
  private release: () => Promise<void> = async () => {}

  private constructor(path: string | null, handled: ClaimRecord, jobs: Map<string, JournalEntry>, cursor: number) {
    this.path = path
    this.handled = handled
    this.jobs = jobs
    this.cursorSecs = cursor
  }

  static memory(): JobStore {
    return new JobStore(null, ClaimRecord.memory(), new Map(), nowSecs())
  }

  /** Takes the journal's lock (FilesError LOCK_HELD while another agent of this name runs), then reads. */
  static async open(paths: JobStorePaths): Promise<JobStore> {
    const release = await lockFile(`${paths.journal}.lock`)
    try {
      const handled = await ClaimRecord.open(paths.handled)
      const { jobs, cursor } = await readJournal(paths.journal)
      const store = new JobStore(paths.journal, handled, jobs, cursor ?? nowSecs())
      store.release = release
      return store
    } catch (err) {
      await release()
      throw err
    }
  }

  /** Saves the journal and lets another agent of this name take over. */
  async close(): Promise<void> {
    await this.persist().catch(() => {})
    await this.release()
  }

  /** The `since` of a (re)opened subscription. */
  since(): number {
    return Math.max(this.cursorSecs - CURSOR_SKEW_SECS, nowSecs() - HANDLED_KEEP_SECS + CURSOR_SKEW_SECS)
  }

  /** A request of `createdAt` was read: the cursor moves up to it, never past now. */
  saw(createdAt: number): void {
    this.cursorSecs = Math.max(this.cursorSecs, Math.min(createdAt, nowSecs()))
  }

  /** Handled before, or in flight now. */
  known(id: string): boolean {
    return this.jobs.has(id) || this.handled.has(id)
  }

  inFlight(): Array<[string, JournalEntry]> {
    return [...this.jobs]
  }

  async put(id: string, entry: JournalEntry): Promise<void> {
    this.jobs.set(id, entry)
    await this.persist()
  }

  /** Claims `id` handled for good: a restart or a relay's replay never handles it again. */
  async markHandled(id: string): Promise<boolean> {
    return this.handled.claim(id, nowSecs() + HANDLED_KEEP_SECS)
  }

  async remove(id: string): Promise<void> {
    if (this.jobs.delete(id)) await this.persist()
  }

  /** Writes the journal (and the cursor with it); calls are queued, each write whole. */
  persist(): Promise<void> {
    const path = this.path
    if (path === null) return Promise.resolve()
    const text = JSON.stringify({ version: VERSION, cursor: this.cursorSecs, jobs: Object.fromEntries(this.jobs) })
    const run = this.writing.then(() => writeFileAtomic(path, text + '\n'))
    this.writing = run.catch(() => {})
    return run
  }
}

async function readJournal(path: string): Promise<{ jobs: Map<string, JournalEntry>; cursor: number | null }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { jobs: new Map(), cursor: null }
    throw FilesError.STATE_FILE_INVALID(path, (err as Error).message)
  }
  let value: { version?: unknown; cursor?: unknown; jobs?: unknown }
  try {
    value = JSON.parse(text)
  } catch {
    throw FilesError.STATE_FILE_INVALID(path, 'not JSON')
  }
  if (
    value?.version !== VERSION ||
    !Number.isSafeInteger(value.cursor) ||
    typeof value.jobs !== 'object' ||
    !value.jobs
  )
    throw FilesError.STATE_FILE_INVALID(path, `not a version ${VERSION} job journal`)
  const jobs = new Map<string, JournalEntry>()
  for (const [id, entry] of Object.entries(value.jobs as Record<string, JournalEntry>)) {
    // Each entry's request is checked again (signature, bounds) when the job resumes; an entry of
    // another shape is dropped, never resumed: its phase and price decide what is charged and worked.
    if (/^[0-9a-f]{64}$/.test(id) && isEntry(entry) && entry.event.id === id) jobs.set(id, entry)
  }
  return { jobs, cursor: Math.min(value.cursor as number, nowSecs()) }
}

const PHASES: readonly string[] = ['awaiting_payment', 'paid', 'working', 'delivering']

function isEntry(value: unknown): value is JournalEntry {
  const e = value as JournalEntry
  if (!e || typeof e !== 'object' || !e.event || typeof e.event !== 'object') return false
  if (!PHASES.includes(e.phase) || !Number.isSafeInteger(e.priceMsat) || e.priceMsat < 0) return false
  if (typeof e.payAfter !== 'boolean' || (e.answers !== undefined && !Array.isArray(e.answers))) return false
  if (e.phase === 'delivering' && !Array.isArray(e.answers)) return false
  const i = e.invoice
  return (
    i === null ||
    (typeof i === 'object' &&
      typeof i.bolt11 === 'string' &&
      /^[0-9a-f]{64}$/.test(i.paymentHash) &&
      Number.isSafeInteger(i.expiresAt))
  )
}

function nowSecs(): number {
  return Math.floor(Date.now() / 1000)
}
