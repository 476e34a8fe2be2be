// Files a bin keeps between runs. A write is atomic (temp file, fsync, rename, fsync of the
// directory): after a crash the file holds the old content or the new, never a torn mix.

import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Writes `content` to `path` atomically, with `mode` (0600 by default: state is private). */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  // A random name per write: two writers never share a temp file.
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await mkdir(dirname(path), { recursive: true })
    const fh = await open(tmp, 'wx', mode)
    try {
      await fh.writeFile(content)
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
