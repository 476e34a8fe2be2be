// The one atomic file write of the project (keys file, status file, devnet state, wallet and relay
// storage). A write is atomic (temp file, fsync, rename, fsync of the directory): after a crash the
// file holds the old content or the new, never a torn mix. Callers wrap a failure in their own error.

import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

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
