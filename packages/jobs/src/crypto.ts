// The two encryptions NIP-90 jobs meet: NIP-44 v2, which NDK's `encryption()` sends, and NIP-04,
// which the NIP itself names. A request says only `["encrypted"]`, so the scheme is told from the
// ciphertext: NIP-04 is `base64?iv=base64`, NIP-44 a single base64 payload whose first byte is the
// version. The answers go back in the scheme the request came in.

import { nip04, nip44 } from 'nostr-tools'
import { JobError } from './errors.js'

export type Encryption = 'nip44' | 'nip04'

/** NIP-44 v2 holds at most 65535 plaintext bytes; NIP-04 has no bound of its own, so it gets the same. */
export const MAX_PLAINTEXT_BYTES = 65_535
const NIP04_SHAPE = /^[A-Za-z0-9+/]+=*\?iv=[A-Za-z0-9+/]{22}==$/

export function schemeOf(ciphertext: string): Encryption {
  return NIP04_SHAPE.test(ciphertext) ? 'nip04' : 'nip44'
}

export function encryptFor(scheme: Encryption, secretKey: Uint8Array, pubkey: string, plaintext: string): string {
  if (Buffer.byteLength(plaintext) > MAX_PLAINTEXT_BYTES)
    throw JobError.LIMIT_EXCEEDED('the plaintext to encrypt', MAX_PLAINTEXT_BYTES)
  if (scheme === 'nip04') return nip04.encrypt(secretKey, pubkey, plaintext)
  return nip44.encrypt(plaintext, nip44.getConversationKey(secretKey, pubkey))
}

/** Decrypts `ciphertext` from `pubkey` in the scheme its shape says; throws UNDECRYPTABLE. */
export function decryptFrom(
  secretKey: Uint8Array,
  pubkey: string,
  ciphertext: string
): { scheme: Encryption; plaintext: string } {
  const scheme = schemeOf(ciphertext)
  try {
    const plaintext =
      scheme === 'nip04'
        ? nip04.decrypt(secretKey, pubkey, ciphertext)
        : nip44.decrypt(ciphertext, nip44.getConversationKey(secretKey, pubkey))
    return { scheme, plaintext }
  } catch (err) {
    throw JobError.UNDECRYPTABLE(`${scheme}: ${(err as Error).message}`.slice(0, 200))
  }
}
