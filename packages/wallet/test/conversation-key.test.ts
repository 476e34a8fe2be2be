// The NIP-44 conversation key of an NWC connection is derived once, not twice per request, and
// what is encrypted with it is what the wallet reads: checked against nostr-tools used from the
// wallet's side, and against the SDK's own NWCClient methods (a round trip through a relay is in
// packages/devnet/devwallet/test). NIP-04 stays with the SDK.

import { expect, test, vi } from 'vitest'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import * as nip44 from 'nostr-tools/nip44'
import { cacheConversationKeys } from '../src/conversation-key.js'
import { loadNwcSdk } from '../src/nwc.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function sdkShaped(encryptionType: string) {
  return {
    encryptionType,
    encrypt: vi.fn(async (_pubkey: string, content: string) => `sdk:${content}`),
    decrypt: vi.fn(async (_pubkey: string, content: string) => `sdk:${content}`)
  }
}

test('three requests and their replies derive the conversation key once, and the wallet reads them', async () => {
  const ours = generateSecretKey()
  const wallet = generateSecretKey()
  const walletPubkey = getPublicKey(wallet)
  const derive = vi.fn(nip44.getConversationKey)
  const client = sdkShaped('nip44_v2')
  cacheConversationKeys(client, hex(ours), derive)

  const walletKey = nip44.getConversationKey(wallet, getPublicKey(ours))
  for (const method of ['get_info', 'make_invoice', 'lookup_invoice']) {
    const sent = await client.encrypt(walletPubkey, JSON.stringify({ method }))
    expect(JSON.parse(nip44.decrypt(sent, walletKey))).toEqual({ method })
    const reply = nip44.encrypt(JSON.stringify({ result_type: method }), walletKey)
    expect(JSON.parse(await client.decrypt(walletPubkey, reply))).toEqual({ result_type: method })
  }
  expect(derive).toHaveBeenCalledTimes(1)
  expect(client.encrypt).not.toHaveProperty('mock')
})

test('a reply that was tampered with is refused, as the SDK would refuse it', async () => {
  const ours = generateSecretKey()
  const wallet = generateSecretKey()
  const client = sdkShaped('nip44_v2')
  cacheConversationKeys(client, hex(ours))
  const reply = nip44.encrypt('{"result_type":"pay_invoice"}', nip44.getConversationKey(wallet, getPublicKey(ours)))
  const flipped = Buffer.from(reply, 'base64')
  flipped[40] = (flipped[40] as number) ^ 1
  await expect(client.decrypt(getPublicKey(wallet), flipped.toString('base64'))).rejects.toThrow(/invalid MAC/)
})

test('a NIP-04 wallet is left to the SDK', async () => {
  const client = sdkShaped('nip04')
  const encrypt = client.encrypt
  cacheConversationKeys(client, hex(generateSecretKey()))
  expect(await client.encrypt('ab'.repeat(32), 'hello')).toBe('sdk:hello')
  expect(encrypt).toHaveBeenCalledTimes(1)
})

test("the SDK's NWCClient has the methods this replaces, and they agree with them", async () => {
  const { NWCClient } = await loadNwcSdk()
  const ours = generateSecretKey()
  const wallet = generateSecretKey()
  const uri = `nostr+walletconnect://${getPublicKey(wallet)}?relay=${encodeURIComponent('ws://127.0.0.1:9')}&secret=${hex(ours)}`
  const sdk = new NWCClient({ nostrWalletConnectUrl: uri })
  const cached = new NWCClient({ nostrWalletConnectUrl: uri })
  for (const c of [sdk, cached]) (c as unknown as { _encryptionType: string })._encryptionType = 'nip44_v2'
  cacheConversationKeys(cached, hex(ours))
  const fromSdk = await sdk.encrypt(getPublicKey(wallet), 'ping')
  const fromCache = await cached.encrypt(getPublicKey(wallet), 'pong')
  expect(await cached.decrypt(getPublicKey(wallet), fromSdk)).toBe('ping')
  expect(await sdk.decrypt(getPublicKey(wallet), fromCache)).toBe('pong')
  sdk.close()
  cached.close()
})
