// Files the wallet owns. Every write is atomic (@2020117/cli's writeFileAtomic): after a crash the
// file holds either the old or the new content, never a torn mix.

import { mkdir, open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '@2020117/cli'
import { WalletError } from './errors.js'

export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw WalletError.STORAGE_FAILED(path, err)
  }
}

/** Secrets live in these files, hence mode 0600 (writeFileAtomic's default). */
export async function storeFile(path: string, content: string): Promise<void> {
  try {
    await writeFileAtomic(path, content)
  } catch (err) {
    throw WalletError.STORAGE_FAILED(path, err)
  }
}

// Two wallets on one dir would each believe they hold the whole ledger and could settle an
// invoice twice, so a dir is locked by the process serving it. A lock left by a dead process (or
// by this process without a live wallet, after a crash in a test) is stale and taken over.
const heldLocks = new Set<string>()

export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'wallet.lock')
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw WalletError.STORAGE_FAILED(dir, err)
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
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw WalletError.STORAGE_FAILED(path, err)
    }
    const pid = Number.parseInt((await readIfExists(path)) ?? '', 10)
    const stale = !Number.isInteger(pid) || (pid === process.pid ? !heldLocks.has(path) : !processAlive(pid))
    if (!stale) throw WalletError.DIR_LOCKED(dir, pid)
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
