// The server's own Nostr key: the `nostrPubkey` it advertises and signs every zap receipt with. It
// is kept in the devnet dir (0600, written atomically) so that a restarted devnet keeps it, since a
// reader judges every receipt ever published by the key the address advertises now.

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateSecretKey } from 'nostr-tools/pure'
import { writeFileAtomic } from '@2020117/files'
import { LnurlServerError } from './errors.js'

export const KEY_FILE = 'zap-receipt-key'

export async function loadServerKey(dir: string): Promise<Uint8Array> {
  const path = join(dir, KEY_FILE)
  let text: string | null = null
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw LnurlServerError.KEY_FAILED(path, 'cannot be read', err)
  }
  if (text !== null) {
    const hex = text.trim()
    if (!/^[0-9a-f]{64}$/.test(hex)) throw LnurlServerError.KEY_FAILED(path, 'is not 64 hex characters')
    return Uint8Array.from(Buffer.from(hex, 'hex'))
  }
  const key = generateSecretKey()
  try {
    await writeFileAtomic(path, Buffer.from(key).toString('hex') + '\n')
  } catch (err) {
    throw LnurlServerError.KEY_FAILED(path, 'cannot be written', err)
  }
  return key
}
