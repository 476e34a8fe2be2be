// Files the wallet owns. Every write is atomic (@2020117/files's writeFileAtomic): after a crash the
// file holds either the old or the new content, never a torn mix.

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FilesError, lockFile, writeFileAtomic } from '@2020117/files'
import { DevWalletError } from './errors.js'

export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw DevWalletError.STORAGE_FAILED(path, err)
  }
}

/** Secrets live in these files, hence mode 0600 (writeFileAtomic's default). */
export async function storeFile(path: string, content: string): Promise<void> {
  try {
    await writeFileAtomic(path, content)
  } catch (err) {
    throw DevWalletError.STORAGE_FAILED(path, err)
  }
}

// Two wallets on one dir would each believe they hold the whole ledger and could settle an
// invoice twice, so a dir is locked by the process serving it. A lock left by a dead process (or
// by this process without a live wallet, after a crash in a test) is stale and taken over.
export async function lockDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'wallet.lock')
  try {
    return await lockFile(path)
  } catch (err) {
    if (!(err instanceof FilesError && err.code === 'LOCK_HELD')) throw DevWalletError.STORAGE_FAILED(path, err)
    throw DevWalletError.DIR_LOCKED(dir, Number.parseInt((await readIfExists(path)) ?? '', 10))
  }
}
