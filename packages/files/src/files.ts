// The one atomic file write and the one lock file of the project (keys file, status file, devnet
// state, wallet and relay storage). A write is atomic (temp file, fsync, rename, fsync of the
// directory): after a crash the file holds the old content or the new, never a torn mix. A lock file
// is created whole, holding its owner's pid, so a crashed owner's lock is recognised and taken over.
// Callers wrap a failure in their own error.

import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { FilesError } from './errors.js'

/**
 * Writes `content` to `path` atomically, with `mode` (0600 by default: state is private). Content
 * given as chunks is written chunk by chunk, so a large file is never held in memory whole.
 */
export async function writeFileAtomic(path: string, content: string | Iterable<string>, mode = 0o600): Promise<void> {
  // A random name per write: two writers never share a temp file.
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await mkdir(dirname(path), { recursive: true })
    const fh = await open(tmp, 'wx', mode)
    try {
      if (typeof content === 'string') await fh.writeFile(content)
      else for (const chunk of content) await fh.write(chunk)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    const dir = await open(dirname(path), 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/** Locks this process holds: its own pid in a lock file is stale unless it is one of these. */
const held = new Set<string>()

/**
 * The tail of each path's queue of this process's lockers. The pid in the file cannot tell two
 * holders of one process apart, so lockers of one process take turns here before they touch the
 * file: otherwise one that read "our pid, not held" in the instant between another's create and its
 * bookkeeping took that live lock over, and both wrote.
 */
const turns = new Map<string, Promise<void>>()

/**
 * Takes the lock file `path`, or throws FilesError.LOCK_HELD. The file holds the owner's pid: a lock
 * whose process is gone (or this process's own, not held: a crash in a test), or an unreadable one
 * older than 10 s, is stale and taken over. A live owner is waited for `waitMs` (0: not at all),
 * retrying every 10 ms. Returns the release.
 */
export async function lockFile(path: string, opts: { waitMs?: number } = {}): Promise<() => Promise<void>> {
  const until = Date.now() + (opts.waitMs ?? 0)
  const endTurn = await takeTurn(path, until)
  try {
    await mkdir(dirname(path), { recursive: true })
    for (;;) {
      if (await createWhole(path, `${process.pid}\n`)) {
        held.add(path)
        return async () => {
          held.delete(path)
          try {
            await rm(path, { force: true })
          } finally {
            endTurn()
          }
        }
      }
      const pid = await lockOwner(path)
      if (await isStale(path, pid)) await rm(path, { force: true })
      else if (Date.now() >= until) throw FilesError.LOCK_HELD(path, pid)
      else await new Promise((r) => setTimeout(r, 10))
    }
  } catch (err) {
    endTurn()
    throw err
  }
}

/** Waits for this process's earlier lockers of `path` (until `until`); returns the end of our turn. */
async function takeTurn(path: string, until: number): Promise<() => void> {
  const before = turns.get(path) ?? Promise.resolve()
  let endTurn!: () => void
  const ours = new Promise<void>((r) => (endTurn = r))
  const tail = before.then(() => ours)
  turns.set(path, tail)
  void tail.then(() => {
    if (turns.get(path) === tail) turns.delete(path)
  })
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), Math.max(0, until - Date.now()))))
  const first = await Promise.race([before.then(() => 'ours' as const), late])
  clearTimeout(timer)
  if (first === 'late') {
    // Our place in the queue passes on as soon as it comes: the turn was never used.
    void before.then(endTurn)
    throw FilesError.LOCK_HELD(path, process.pid)
  }
  return endTurn
}

/** Creates `path` with `content` in one step (a hard link of a written temp file): false if it exists. */
async function createWhole(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(tmp, content, { mode: 0o600, flag: 'wx' })
  try {
    await link(tmp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    await rm(tmp, { force: true })
  }
}

async function lockOwner(path: string): Promise<number | null> {
  const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
  return Number.isInteger(pid) && pid > 0 ? pid : null
}

async function isStale(path: string, pid: number | null): Promise<boolean> {
  if (pid === null)
    return (
      (await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0
      )) > 10_000
    )
  if (pid === process.pid) return !held.has(path)
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM'
  }
}
