// NIP-42 for @getalby/sdk's NWC pool (8.0.3). The SDK bundles a nostr-tools whose relays can answer
// an AUTH challenge (`onauth`), but its ReconnectingPool never sets one, does not retry a publish
// refused `auth-required:`, and lets a refused AUTH become an unhandled rejection that ends the
// process. This hooks each relay as the pool creates it (before it connects: a challenge can come
// in the handshake's packet): it answers the challenge with the connection's key, publishes once
// more after `auth-required:`, opens a subscription closed `auth-required:` again once
// authenticated, and reports a refused AUTH instead of crashing. The key only ever signs.

import { finalizeEvent, type EventTemplate } from 'nostr-tools/pure'

type Sign = (template: EventTemplate) => Promise<unknown>
interface SdkSubscription {
  close(reason?: string): void
}
interface SdkRelay {
  url: string
  readonly connected?: boolean
  onauth?: Sign
  auth(sign: Sign): Promise<string>
  publish(event: unknown): Promise<string>
  subscribe(filters: unknown[], params: { onclose?: (reason: string) => void }): SdkSubscription
}

/** Makes `pool` (an NWCClient's or NWCWalletService's) authenticate with `secretHex` when a relay asks. */
export function answerRelayAuth(pool: unknown, secretHex: string, log: (line: string) => void): void {
  const relays = (pool as { relays?: Map<string, SdkRelay> }).relays
  if (!(relays instanceof Map)) throw new TypeError('not the NWC pool this code knows (@getalby/sdk 8.0.3)')
  const key = Uint8Array.from(Buffer.from(secretHex, 'hex'))
  const sign: Sign = async (template) => finalizeEvent(template, key)
  const set = relays.set.bind(relays)
  relays.set = (url, relay) => {
    if (!relays.has(url)) hookRelay(relay, sign, log)
    return set(url, relay)
  }
}

function hookRelay(relay: SdkRelay, sign: Sign, log: (line: string) => void): void {
  const auth = relay.auth.bind(relay)
  relay.auth = (signer) =>
    auth(signer).catch((err: unknown) => {
      log(`relay ${relay.url} refused our NIP-42 authentication: ${printable(err)}`)
      return ''
    })
  relay.onauth = sign
  const publish = relay.publish.bind(relay)
  relay.publish = (event) =>
    publish(event).catch(async (err: unknown) => {
      if (!(err instanceof Error) || !err.message.startsWith('auth-required:')) throw err
      await relay.auth(sign)
      return publish(event)
    })
  const subscribe = relay.subscribe.bind(relay)
  relay.subscribe = (filters, params) => {
    let retried = false
    let closed = false
    let current: SdkSubscription
    const open = () => {
      if (closed) return
      current = subscribe(filters, {
        ...params,
        onclose: (reason) => {
          if (retried || !reason.startsWith('auth-required:')) return params.onclose?.(reason)
          retried = true
          // The relay may have gone while we authenticated: opening on a closed socket would raise
          // an unhandled rejection in the SDK; the subscription is closed instead, and reconnected.
          void relay.auth(sign).then(() => (relay.connected === false ? params.onclose?.(reason) : open()))
        }
      })
    }
    open()
    return {
      close: (reason) => {
        closed = true
        current.close(reason)
      }
    }
  }
}

function printable(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.slice(0, 200).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
}
