// NIP-44 conversation keys for @getalby/sdk's NWCClient (8.0.3), derived once per connection.
// The SDK derives the key again for every request it encrypts and every reply it decrypts, with
// the slow copy of noble-curves it bundles: an ECDH of several milliseconds of CPU each time, two
// per NIP-47 request, which a provider pays twice per tick (make_invoice, lookup_invoice) on the
// thread that also moves the tunnel's bytes. The key depends only on our secret and the wallet's
// pubkey, and NIP-44 lets it be cached, so it is derived once here with nostr-tools and kept.
// NIP-04 (a wallet that offers nothing newer) is left to the SDK.

import { decrypt, encrypt, getConversationKey } from 'nostr-tools/nip44'

type Crypt = (pubkey: string, content: string) => Promise<string>
interface SdkClient {
  encryptionType: string
  encrypt: Crypt
  decrypt: Crypt
}

/** The derivation, replaceable in tests to count calls. */
export type DeriveKey = (secret: Uint8Array, pubkey: string) => Uint8Array

/** Makes `client` encrypt and decrypt NIP-44 with one conversation key per peer, derived once. */
export function cacheConversationKeys(
  client: unknown,
  secretHex: string,
  derive: DeriveKey = getConversationKey
): void {
  const c = client as SdkClient
  if (typeof c.encrypt !== 'function' || typeof c.decrypt !== 'function')
    throw new TypeError('not the NWCClient this code knows (@getalby/sdk 8.0.3)')
  const secret = Uint8Array.from(Buffer.from(secretHex, 'hex'))
  // The SDK only ever passes the wallet's pubkey (its own setting, never a peer's): one entry.
  const keys = new Map<string, Uint8Array>()
  const keyFor = (pubkey: string) => {
    let key = keys.get(pubkey)
    if (!key) keys.set(pubkey, (key = derive(secret, pubkey)))
    return key
  }
  const sdkEncrypt = c.encrypt.bind(c)
  const sdkDecrypt = c.decrypt.bind(c)
  // The SDK reads encryptionType only after it has chosen one (from the wallet's info event).
  c.encrypt = async (pubkey, content) =>
    c.encryptionType === 'nip44_v2' ? encrypt(content, keyFor(pubkey)) : sdkEncrypt(pubkey, content)
  c.decrypt = async (pubkey, content) =>
    c.encryptionType === 'nip44_v2' ? decrypt(content, keyFor(pubkey)) : sdkDecrypt(pubkey, content)
}
