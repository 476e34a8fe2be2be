import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { findKeysFile, KEYS_FILE, keysFileCandidates, loadIdentity, readKeysFile, writeKeyEntry } from '../src/keys.js'
import { hex, nostrError, runCleanups, tempDir } from './helpers.js'

// With umask 022 a file created without an explicit mode would be 0644: the 0600 checks below must
// be able to tell the difference, whatever umask the test runner inherited.
let savedUmask = 0
beforeEach(() => {
  savedUmask = process.umask(0o022)
})
afterEach(async () => {
  process.umask(savedUmask)
  await runCleanups()
})

/** A cwd and a home of its own for every test: the real home directory is never touched. */
async function dirs(): Promise<{ cwd: string; home: string }> {
  return { cwd: await tempDir('nostr-cwd-'), home: await tempDir('nostr-home-') }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false
  )
}

async function readJson(path: string): Promise<any> {
  return JSON.parse(await readFile(path, 'utf8'))
}

function keypair(): { privkey: string; pubkey: string } {
  const sk = generateSecretKey()
  return { privkey: hex(sk), pubkey: getPublicKey(sk) }
}

async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f !== KEYS_FILE)
}

describe('loadIdentity', () => {
  test('first run: creates the keys file in home with mode 0600 and returns created: true', async () => {
    const { cwd, home } = await dirs()
    const id = await loadIdentity({ name: 'agent', cwd, home })

    expect(id.created).toBe(true)
    expect(id.name).toBe('agent')
    expect(id.path).toBe(join(home, KEYS_FILE))
    expect(await exists(join(cwd, KEYS_FILE))).toBe(false)
    expect((await stat(id.path)).mode & 0o777).toBe(0o600)

    const file = await readJson(id.path)
    expect(Object.keys(file)).toEqual(['agent'])
    expect(file.agent).toEqual({ privkey: hex(id.secretKey), pubkey: getPublicKey(id.secretKey) })
    expect(id.entry).toEqual(file.agent)
    expect(await leftovers(home)).toEqual([])
  })

  test('second run: the same keypair, created: false, file unchanged', async () => {
    const { cwd, home } = await dirs()
    const first = await loadIdentity({ name: 'agent', cwd, home })
    const before = await readFile(first.path, 'utf8')
    const second = await loadIdentity({ name: 'agent', cwd, home })

    expect(second.created).toBe(false)
    expect(second.path).toBe(first.path)
    expect(hex(second.secretKey)).toBe(hex(first.secretKey))
    expect(second.entry.pubkey).toBe(first.entry.pubkey)
    expect(await readFile(first.path, 'utf8')).toBe(before)
  })

  test('the privkey hex round-trips: file → secretKey → same hex and pubkey', async () => {
    const { cwd, home } = await dirs()
    const kp = keypair()
    await writeFile(join(home, KEYS_FILE), JSON.stringify({ agent: kp }), { mode: 0o600 })
    const id = await loadIdentity({ name: 'agent', cwd, home })
    expect(id.created).toBe(false)
    expect(id.secretKey).toBeInstanceOf(Uint8Array)
    expect(id.secretKey.length).toBe(32)
    expect(hex(id.secretKey)).toBe(kp.privkey)
    expect(getPublicKey(id.secretKey)).toBe(kp.pubkey)
    expect(id.entry.pubkey).toBe(kp.pubkey)
  })

  test('an entry without pubkey, or with upper-case hex, is accepted and the pubkey derived', async () => {
    const { cwd, home } = await dirs()
    const kp = keypair()
    await writeFile(
      join(home, KEYS_FILE),
      JSON.stringify({
        a: { privkey: kp.privkey.toUpperCase() },
        b: { privkey: kp.privkey, pubkey: kp.pubkey.toUpperCase() }
      })
    )
    const a = await loadIdentity({ name: 'a', cwd, home })
    const b = await loadIdentity({ name: 'b', cwd, home })
    expect(hex(a.secretKey)).toBe(kp.privkey)
    expect(a.entry.pubkey).toBe(kp.pubkey)
    expect(b.entry.pubkey).toBe(kp.pubkey)
  })

  test('lookup order: ./ (cwd) before ~/ (home)', async () => {
    const { cwd, home } = await dirs()
    const inCwd = keypair()
    const inHome = keypair()
    await writeFile(join(cwd, KEYS_FILE), JSON.stringify({ agent: inCwd }), { mode: 0o600 })
    await writeFile(join(home, KEYS_FILE), JSON.stringify({ agent: inHome }), { mode: 0o600 })

    expect(keysFileCandidates(cwd, home)).toEqual([join(cwd, KEYS_FILE), join(home, KEYS_FILE)])
    expect(await findKeysFile(cwd, home)).toBe(join(cwd, KEYS_FILE))
    const fromCwd = await loadIdentity({ name: 'agent', cwd, home })
    expect(fromCwd.path).toBe(join(cwd, KEYS_FILE))
    expect(fromCwd.entry.pubkey).toBe(inCwd.pubkey)

    await rm(join(cwd, KEYS_FILE))
    expect(await findKeysFile(cwd, home)).toBe(join(home, KEYS_FILE))
    const fromHome = await loadIdentity({ name: 'agent', cwd, home })
    expect(fromHome.path).toBe(join(home, KEYS_FILE))
    expect(fromHome.entry.pubkey).toBe(inHome.pubkey)
    expect(fromHome.created).toBe(false)
  })

  test('a new agent name goes into the file found in cwd, next to its other entries; home stays empty', async () => {
    const { cwd, home } = await dirs()
    const other = keypair()
    await writeFile(join(cwd, KEYS_FILE), JSON.stringify({ other }), { mode: 0o600 })
    const id = await loadIdentity({ name: 'agent', cwd, home })
    expect(id.created).toBe(true)
    expect(id.path).toBe(join(cwd, KEYS_FILE))
    const file = await readJson(id.path)
    expect(file.other).toEqual(other)
    expect(file.agent.pubkey).toBe(getPublicKey(id.secretKey))
    expect(await exists(join(home, KEYS_FILE))).toBe(false)
  })

  test('an explicit path wins over cwd and home', async () => {
    const { cwd, home } = await dirs()
    await writeFile(join(cwd, KEYS_FILE), JSON.stringify({ agent: keypair() }))
    const path = join(await tempDir(), 'sub', 'keys.json')
    const id = await loadIdentity({ name: 'agent', path, cwd, home })
    expect(id.created).toBe(true)
    expect(id.path).toBe(path)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await exists(join(home, KEYS_FILE))).toBe(false)
  })

  test('two agent names in one file get different keys', async () => {
    const { cwd, home } = await dirs()
    const a = await loadIdentity({ name: 'a', cwd, home })
    const b = await loadIdentity({ name: 'b', cwd, home })
    expect(b.path).toBe(a.path)
    expect(b.entry.pubkey).not.toBe(a.entry.pubkey)
    expect(Object.keys(await readJson(a.path)).sort()).toEqual(['a', 'b'])
  })

  test('two runs creating one new name at once get one key, the one on disk (neither is replaced)', async () => {
    const { cwd, home } = await dirs()
    const runs = await Promise.all(Array.from({ length: 8 }, () => loadIdentity({ name: 'twin', cwd, home })))
    const onDisk = (await readJson(runs[0]!.path)).twin
    for (const run of runs) expect(run.entry.pubkey).toBe(onDisk.pubkey)
    expect(runs.filter((r) => r.created)).toHaveLength(1)
  })

  describe('invalid keys files throw KEYS_FILE_INVALID and are left as they were', () => {
    const kp = keypair()
    const other = keypair()
    const cases: Array<[string, string]> = [
      ['not JSON', '{"agent": '],
      ['an array', JSON.stringify([kp])],
      ['null', 'null'],
      ['a string', '"hello"'],
      ['an entry without privkey', JSON.stringify({ agent: { pubkey: kp.pubkey } })],
      ['an entry that is a string', JSON.stringify({ agent: kp.privkey })],
      ['a privkey that is not hex', JSON.stringify({ agent: { privkey: 'z'.repeat(64) } })],
      ['a privkey of 63 hex digits', JSON.stringify({ agent: { privkey: kp.privkey.slice(1) } })],
      ['a privkey that is a number', JSON.stringify({ agent: { privkey: 12345 } })],
      [
        'a pubkey that does not match the privkey',
        JSON.stringify({ agent: { privkey: kp.privkey, pubkey: other.pubkey } })
      ]
    ]
    for (const [what, text] of cases) {
      test(what, async () => {
        const { cwd, home } = await dirs()
        const path = join(home, KEYS_FILE)
        await writeFile(path, text, { mode: 0o600 })
        const err = await nostrError(() => loadIdentity({ name: 'agent', cwd, home }), 'KEYS_FILE_INVALID')
        expect(err.message).toContain(path)
        expect(await readFile(path, 'utf8')).toBe(text)
      })
    }

    // An entry the code cannot turn into a key is as invalid as one without a privkey; a raw
    // TypeError or noble-curves error would reach the user without the path or any advice.
    const unusable: Array<[string, string]> = [
      ['a pubkey that is not a string', JSON.stringify({ agent: { privkey: kp.privkey, pubkey: 42 } })],
      ['a privkey outside the curve order (all zero)', JSON.stringify({ agent: { privkey: '00'.repeat(32) } })]
    ]
    for (const [what, text] of unusable) {
      test(what, async () => {
        const { cwd, home } = await dirs()
        await writeFile(join(home, KEYS_FILE), text, { mode: 0o600 })
        await nostrError(() => loadIdentity({ name: 'agent', cwd, home }), 'KEYS_FILE_INVALID')
      })
    }
  })
})

describe('readKeysFile', () => {
  test('a missing file reads as {}', async () => {
    expect(await readKeysFile(join(await tempDir(), 'absent'))).toEqual({})
  })

  test('a directory in place of the file is KEYS_FILE_INVALID', async () => {
    const dir = await tempDir()
    await nostrError(() => readKeysFile(dir), 'KEYS_FILE_INVALID')
  })
})

describe('writeKeyEntry', () => {
  test('merges: a second entry and unknown fields survive a write of the first; an update keeps the other fields', async () => {
    const dir = await tempDir()
    const path = join(dir, KEYS_FILE)
    const a = keypair()
    const b = keypair()
    await writeFile(
      path,
      JSON.stringify({
        a: { ...a, nwc_uri: 'nostr+walletconnect://x', custom: { nested: [1, 2] } },
        b: { ...b, relays: ['ws://127.0.0.1:1'], extra_b: true },
        _comment: { note: 'kept by another tool' }
      })
    )

    const returned = await writeKeyEntry(path, 'a', { lightning_address: 'a@example.com' })
    expect(returned).toEqual({
      ...a,
      nwc_uri: 'nostr+walletconnect://x',
      custom: { nested: [1, 2] },
      lightning_address: 'a@example.com'
    })
    let file = await readJson(path)
    expect(file.a).toEqual(returned)
    expect(file.b).toEqual({ ...b, relays: ['ws://127.0.0.1:1'], extra_b: true })
    expect(file._comment).toEqual({ note: 'kept by another tool' })

    await writeKeyEntry(path, 'a', { nwc_uri: 'nostr+walletconnect://y' })
    file = await readJson(path)
    expect(file.a).toEqual({
      ...a,
      nwc_uri: 'nostr+walletconnect://y',
      custom: { nested: [1, 2] },
      lightning_address: 'a@example.com'
    })
    expect(file.b).toEqual({ ...b, relays: ['ws://127.0.0.1:1'], extra_b: true })
  })

  test('creates missing directories and the file with mode 0600', async () => {
    const path = join(await tempDir(), 'x', 'y', KEYS_FILE)
    const kp = keypair()
    expect(await writeKeyEntry(path, 'agent', kp)).toEqual(kp)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await readJson(path)).toEqual({ agent: kp })
  })

  test('replaces a world-readable file by a 0600 one (the secret is never written to a 0644 file)', async () => {
    const dir = await tempDir()
    const path = join(dir, KEYS_FILE)
    await writeFile(path, JSON.stringify({ old: keypair() }))
    await chmod(path, 0o644)
    await writeKeyEntry(path, 'agent', keypair())
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  test('a write on an invalid file throws KEYS_FILE_INVALID and leaves it untouched', async () => {
    const path = join(await tempDir(), KEYS_FILE)
    await writeFile(path, '[1, 2]')
    await nostrError(() => writeKeyEntry(path, 'agent', keypair()), 'KEYS_FILE_INVALID')
    expect(await readFile(path, 'utf8')).toBe('[1, 2]')
  })

  test('atomic: sequential writes lose nothing and leave no .tmp file behind', async () => {
    const dir = await tempDir()
    const path = join(dir, KEYS_FILE)
    const written: Record<string, { privkey: string; pubkey: string }> = {}
    for (let i = 0; i < 25; i++) {
      written[`agent${i}`] = keypair()
      await writeKeyEntry(path, `agent${i}`, written[`agent${i}`]!)
      expect(await leftovers(dir)).toEqual([])
    }
    expect(await readJson(path)).toEqual(written)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })

  test('concurrent writers lose nothing: every entry survives, the file stays valid JSON, no .tmp or lock files', async () => {
    const dir = await tempDir()
    const path = join(dir, KEYS_FILE)
    const base = keypair()
    await writeKeyEntry(path, 'base', base)
    const written = Array.from({ length: 30 }, () => keypair())
    const results = await Promise.allSettled(written.map((kp, i) => writeKeyEntry(path, `agent${i}`, kp)))
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true)

    const file = await readJson(path)
    expect(file !== null && typeof file === 'object' && !Array.isArray(file)).toBe(true)
    expect(file.base).toEqual(base)
    const survivors = Object.keys(file).filter((k) => k !== 'base')
    expect(survivors.sort()).toEqual(written.map((_, i) => `agent${i}`).sort())
    for (const name of survivors) expect(file[name]).toEqual(written[Number(name.slice('agent'.length))])
    expect(await leftovers(dir)).toEqual([])
    expect((await stat(path)).mode & 0o777).toBe(0o600)
  })
})
