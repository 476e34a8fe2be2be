// Files the wallet owns. Every write is atomic (temp file, fsync, rename, fsync directory): after a
// crash the file holds either the old or the new content, never a torn mix.

import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { DevWalletError } from './errors.js'

export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw DevWalletError.STORAGE_FAILED(path, err)
  }
}

/** Secrets live in these files, hence mode 0600. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temp = `${path}.tmp`
  try {
    await mkdir(dirname(path), { recursive: true })
    const handle = await open(temp, 'w', 0o600)
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
    const dir = await open(dirname(path), 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  } catch (err) {
    await unlink(temp).catch(() => undefined)
    throw DevWalletError.STORAGE_FAILED(path, err)
  }
}

// Two wallets on one dir would each believe they hold the whole ledger and could settle an
// invoice twice, so a dir is locked by the process serving it. A lock left by a dead process (or
// by this process without a live wallet, after a crash in a test) is stale and taken over.
const heldLocks = new Set<string>()

export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'wallet.lock')
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw DevWalletError.STORAGE_FAILED(dir, err)
  })
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600)
      try {
        await handle.writeFile(`${process.pid}\n`)
      } finally {
        await handle.close()
      }
      heldLocks.add(path)
      return async () => {
        heldLocks.delete(path)
        await unlink(path).catch(() => undefined)
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw DevWalletError.STORAGE_FAILED(path, err)
    }
    const pid = Number.parseInt((await readIfExists(path)) ?? '', 10)
    const stale = !Number.isInteger(pid) || (pid === process.pid ? !heldLocks.has(path) : !processAlive(pid))
    if (!stale) throw DevWalletError.DIR_LOCKED(dir, pid)
    await unlink(path).catch(() => undefined)
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
