// The one atomic write and the one lock file (issue 11 item 6): what the keys file, the wallet's
// storage and the relay journal rely on.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { lockFile, writeFileAtomic } from '@2020117/files'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'files-'))
  dirs.push(d)
  return d
}

test('writeFileAtomic writes string or chunked content with mode 0600 and leaves no temp file', async () => {
  const dir = await tempDir()
  await writeFileAtomic(join(dir, 'a'), 'one')
  await writeFileAtomic(join(dir, 'b'), ['two', ' and ', 'three'])
  expect(await readFile(join(dir, 'a'), 'utf8')).toBe('one')
  expect(await readFile(join(dir, 'b'), 'utf8')).toBe('two and three')
  expect((await readdir(dir)).sort()).toEqual(['a', 'b'])
})

test('a held lock is refused with LOCK_HELD naming this process, and free again once released', async () => {
  const path = join(await tempDir(), 'x.lock')
  const release = await lockFile(path)
  await expect(lockFile(path)).rejects.toMatchObject({
    code: 'LOCK_HELD',
    message: expect.stringContaining(`process ${process.pid}`)
  })
  await release()
  await (
    await lockFile(path)
  )()
})

test('a waiting locker gets the lock when the owner releases it', async () => {
  const path = join(await tempDir(), 'x.lock')
  const release = await lockFile(path)
  const waiting = lockFile(path, { waitMs: 10_000 })
  await release()
  await (
    await waiting
  )()
})

test("a dead process's lock, and this process's own unheld one, are stale and taken over", async () => {
  const dir = await tempDir()
  await writeFile(join(dir, 'dead.lock'), '2147483646\n')
  await writeFile(join(dir, 'own.lock'), `${process.pid}\n`)
  await (
    await lockFile(join(dir, 'dead.lock'))
  )()
  await (
    await lockFile(join(dir, 'own.lock'))
  )()
  expect(await readdir(dir)).toEqual([])
})

test('lockers of one process exclude each other: never two holders at once, none lost', async () => {
  // The pid in the file cannot tell two holders of one process apart; a locker that read "our pid,
  // not held" in the instant between another's create and its bookkeeping took that lock over.
  const path = join(await tempDir(), 'x.lock')
  let holders = 0
  let most = 0
  let done = 0
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      const release = await lockFile(path, { waitMs: 60_000 })
      most = Math.max(most, ++holders)
      await new Promise((r) => setImmediate(r))
      holders--
      done++
      await release()
    })
  )
  expect(most).toBe(1)
  expect(done).toBe(200)
  expect(await readdir(join(path, '..'))).toEqual([])
})
