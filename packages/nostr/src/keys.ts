// The keys file, `.2020117_keys`: a JSON object keyed by agent name, each entry holding a Nostr
// keypair and optional wallet settings. It holds secrets, so it is created 0600 (never chmod'ed
// after the fact), written atomically, and merged on write so other entries and fields survive.

import { constants } from 'node:fs'
import { access, readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { lockFile, writeFileAtomic } from '@2020117/files'
import { NostrError } from './errors.js'

export const KEYS_FILE = '.2020117_keys'

export interface KeyEntry {
  privkey: string
  pubkey: string
  nwc_uri?: string
  lightning_address?: string
  relays?: string[]
  [extra: string]: unknown
}

export interface Identity {
  name: string
  path: string
  entry: KeyEntry
  secretKey: Uint8Array
  created: boolean
}

/** The entry's fields as flag defaults: a flag beats its environment variable, which beats these. */
export function keyEntryFlags(entry: KeyEntry): Record<string, string | string[] | undefined> {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
  return {
    nwc: str(entry.nwc_uri),
    'lightning-address': str(entry.lightning_address),
    relays: Array.isArray(entry.relays) ? entry.relays.filter((r): r is string => typeof r === 'string') : undefined
  }
}

/** `./.2020117_keys` first, then `~/.2020117_keys`. */
export function keysFileCandidates(cwd = process.cwd(), home = homedir()): string[] {
  return [join(resolve(cwd), KEYS_FILE), join(home, KEYS_FILE)]
}

export async function findKeysFile(cwd?: string, home?: string): Promise<string | null> {
  for (const path of keysFileCandidates(cwd, home)) {
    try {
      await access(path, constants.R_OK)
      return path
    } catch {}
  }
  return null
}

export async function readKeysFile(path: string): Promise<Record<string, KeyEntry>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw NostrError.KEYS_FILE_INVALID(path, (err as Error).message)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw NostrError.KEYS_FILE_INVALID(path, 'not JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw NostrError.KEYS_FILE_INVALID(path, 'not a JSON object')
  return value as Record<string, KeyEntry>
}

/**
 * Merges `fields` into entry `name` and writes the file atomically with mode 0600. The file is
 * read again just before the write, so entries another program added meanwhile survive.
 */
export async function writeKeyEntry(path: string, name: string, fields: Partial<KeyEntry>): Promise<KeyEntry> {
  const unlock = await lock(path)
  try {
    return await mergeAndWrite(path, name, fields)
  } finally {
    await unlock()
  }
}

/**
 * Two processes creating keys at once must not lose each other's entries: the read-merge-rename
 * runs under an exclusive lock file, waited for up to 5 s. A crashed writer's lock is taken over.
 */
async function lock(path: string): Promise<() => Promise<void>> {
  try {
    return await lockFile(`${path}.lock`, { waitMs: 5000 })
  } catch (err) {
    throw NostrError.KEYS_FILE_UNWRITABLE(path, (err as Error).message)
  }
}

async function mergeAndWrite(path: string, name: string, fields: Partial<KeyEntry>): Promise<KeyEntry> {
  const all = await readKeysFile(path)
  const entry = { ...(all[name] ?? {}), ...fields } as KeyEntry
  all[name] = entry
  try {
    await writeFileAtomic(path, JSON.stringify(all, null, 2) + '\n')
  } catch (err) {
    throw NostrError.KEYS_FILE_UNWRITABLE(path, (err as Error).message)
  }
  return entry
}

/**
 * The identity of agent `name`: from the keys file found (or `path`), generated and saved on the
 * first run. A new file goes to `path`, else the home directory.
 */
export async function loadIdentity(opts: {
  name: string
  path?: string
  cwd?: string
  home?: string
}): Promise<Identity> {
  const path = opts.path
    ? resolve(opts.path)
    : ((await findKeysFile(opts.cwd, opts.home)) ?? keysFileCandidates(opts.cwd, opts.home)[1]!)
  const existing = (await readKeysFile(path))[opts.name]
  if (existing) return identityOf(path, opts.name, existing)
  // Two runs of one new name at once (two `2020117-job --agent=x`) must not each keep a key of its
  // own, one of them then gone from disk: the name is created under the lock, and a run that finds
  // it made meanwhile takes that one.
  const unlock = await lock(path)
  try {
    const made = (await readKeysFile(path))[opts.name]
    if (made) return identityOf(path, opts.name, made)
    const secretKey = generateSecretKey()
    const entry = await mergeAndWrite(path, opts.name, {
      privkey: Buffer.from(secretKey).toString('hex'),
      pubkey: getPublicKey(secretKey)
    })
    return { name: opts.name, path, entry, secretKey, created: true }
  } finally {
    await unlock()
  }
}

/** An entry of the file as an identity, once its privkey is a key and its pubkey (if any) is that key's. */
function identityOf(path: string, name: string, existing: KeyEntry): Identity {
  if (typeof existing.privkey !== 'string' || !/^[0-9a-f]{64}$/i.test(existing.privkey)) {
    throw NostrError.KEYS_FILE_INVALID(path, `entry "${name}" has no 64-hex privkey`)
  }
  const secretKey = new Uint8Array(Buffer.from(existing.privkey, 'hex'))
  let pubkey: string
  try {
    pubkey = getPublicKey(secretKey)
  } catch {
    throw NostrError.KEYS_FILE_INVALID(path, `entry "${name}": privkey is not a valid secp256k1 key`)
  }
  if (
    existing.pubkey !== undefined &&
    existing.pubkey !== '' &&
    (typeof existing.pubkey !== 'string' || existing.pubkey.toLowerCase() !== pubkey)
  ) {
    throw NostrError.KEYS_FILE_INVALID(path, `entry "${name}": pubkey does not match privkey`)
  }
  return { name, path, entry: { ...existing, pubkey }, secretKey, created: false }
}
