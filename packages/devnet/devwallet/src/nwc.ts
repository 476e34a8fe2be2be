// One NIP-47 connection: an NWCWalletService from @getalby/sdk serving one account.
//
// Each account gets its own wallet-service key, its own NWCWalletService and so its own relay
// connection. NWCWalletService routes requests by the client's pubkey anyway, but NIP-47 asks for
// a unique key per connection, the info event (kind 13194) is per service key, and one socket per
// account keeps each account's subscription clear of the relay's per-connection subscription cap.
//
// The SDK publishes replies without awaiting them, so closing it mid-reply raises an unhandled
// rejection. The connection therefore tracks every handler call and every publish, and close()
// waits for them before it closes the socket.

import type { NWCWalletService, NWCWalletServiceRequestHandler, Nip47SingleMethod } from '@getalby/sdk/nwc'
import { getPublicKey } from 'nostr-tools/pure'
import { answerRelayAuth, loadNwcSdk } from '@2020117/wallet'
import { DevWalletError } from './errors.js'

export interface NwcConnectionOptions {
  relayUrl: string
  /** Hex secret of this connection's wallet-service key. */
  serviceSecret: string
  /** Hex pubkey of the app that holds the connection secret. */
  clientPubkey: string
  handler: NWCWalletServiceRequestHandler
  methods: Nip47SingleMethod[]
  log: (line: string) => void
}

type SocketLike = {
  readyState: number
  addEventListener(type: 'close', listener: () => void, options?: { once: boolean }): void
}

class InFlight {
  private readonly pending = new Set<Promise<void>>()

  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined
    )
    this.pending.add(settled)
    void settled.then(() => this.pending.delete(settled))
    return work
  }

  /**
   * Waits until nothing is pending. Each round yields one macrotask: after a handler settles, the
   * SDK encrypts, signs and publishes its reply within the same run of microtasks, so the publish
   * is registered by then; and a handler whose synchronous start triggered close() (a 'request'
   * listener) is registered by then too.
   */
  async drain(): Promise<void> {
    do {
      await Promise.all(this.pending)
      await new Promise<void>((resolve) => setImmediate(resolve))
    } while (this.pending.size > 0)
  }
}

export class NwcConnection {
  readonly walletPubkey: string
  private readonly service: NWCWalletService
  private readonly inFlight: InFlight
  private readonly unsubscribe: () => void
  private readonly gate: Gate
  private closing: Promise<void> | null = null

  private constructor(
    walletPubkey: string,
    service: NWCWalletService,
    inFlight: InFlight,
    gate: Gate,
    unsubscribe: () => void
  ) {
    this.walletPubkey = walletPubkey
    this.service = service
    this.inFlight = inFlight
    this.gate = gate
    this.unsubscribe = unsubscribe
  }

  static async open(opts: NwcConnectionOptions): Promise<NwcConnection> {
    const { NWCWalletService, NWCWalletServiceKeyPair } = await loadNwcSdk()
    const service = new NWCWalletService({ relayUrls: [opts.relayUrl] })
    // A relay with NIP-42 on takes the replies (and the info event) only from the service key.
    answerRelayAuth(service.pool, opts.serviceSecret, opts.log)
    const inFlight = new InFlight()
    const gate: Gate = { closed: false }
    const publishInfo = (): Promise<void> => service.publishWalletServiceInfoEvent(opts.serviceSecret, opts.methods, [])
    instrumentPool(service, inFlight, gate, opts.log, () => {
      // A relay that restarted without storage has lost the info event clients need.
      inFlight
        .track(publishInfo())
        .catch(() => opts.log(`could not republish the NIP-47 info event to ${opts.relayUrl}`))
    })
    const keypair = new NWCWalletServiceKeyPair(opts.serviceSecret, opts.clientPubkey)
    let unsubscribe: (() => void) | null = null
    try {
      unsubscribe = await service.subscribe(keypair, trackHandlers(opts.handler, inFlight))
      // Subscribe first, then publish the info event over the same socket: the relay handles one
      // connection's messages in order, so once the info event is acknowledged the request
      // subscription is live, and no client that found the info event can send into the void.
      await publishInfo()
    } catch (err) {
      unsubscribe?.()
      await inFlight.drain()
      gate.closed = true
      service.close()
      throw DevWalletError.RELAY_UNREACHABLE(opts.relayUrl, err)
    }
    return new NwcConnection(getPublicKey(Buffer.from(opts.serviceSecret, 'hex')), service, inFlight, gate, unsubscribe)
  }

  /** Stops taking requests, finishes the ones under way (replies included), then closes the socket. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.unsubscribe()
      await this.inFlight.drain()
      const sockets = openSockets(this.service)
      this.gate.closed = true
      this.service.close()
      await Promise.all(sockets.map(closed))
    })()
    return this.closing
  }
}

function trackHandlers(handler: NWCWalletServiceRequestHandler, inFlight: InFlight): NWCWalletServiceRequestHandler {
  const tracked: Record<string, unknown> = {}
  for (const [method, fn] of Object.entries(handler) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
    tracked[method] = (...args: unknown[]) => inFlight.track(fn(...args))
  }
  return tracked as NWCWalletServiceRequestHandler
}

/** Once closed, the connection must not open a socket again. */
interface Gate {
  closed: boolean
}

// The SDK's pool is the one seam through which every publish and subscription passes.
function instrumentPool(
  service: NWCWalletService,
  inFlight: InFlight,
  gate: Gate,
  log: (line: string) => void,
  onReconnect: () => void
): void {
  const pool = service.pool
  const publish = pool.publish.bind(pool)
  pool.publish = (relays, event, params) => {
    // The pool would quietly reconnect to publish, leaking a socket past close().
    if (gate.closed) {
      log(`dropped a kind ${event.kind} event: the wallet connection is closed`)
      return relays.map(() => Promise.resolve('connection closed'))
    }
    return publish(relays, event, params).map((attempt) => {
      if (event.kind !== 23195) return inFlight.track(attempt)
      // Nobody awaits a reply's publish; a failure must end here, not as an unhandled rejection.
      return inFlight.track(
        attempt.catch((err: unknown) => {
          log(`could not deliver a NIP-47 reply: ${err instanceof Error ? err.message : String(err)}`)
          return 'not delivered'
        })
      )
    })
  }
  const subscribe = pool.subscribe.bind(pool)
  let connects = 0
  pool.subscribe = (relays, filter, params) =>
    subscribe(relays, filter, {
      ...params,
      onconnect: (url) => {
        params.onconnect?.(url)
        if (++connects > 1) onReconnect()
      }
    })
}

// The pool keeps its relays (and their sockets) in a protected map; reading it is the only way to
// know when the socket has really closed.
function openSockets(service: NWCWalletService): SocketLike[] {
  const relays = (service.pool as unknown as { relays?: Map<string, { ws?: SocketLike }> }).relays
  return [...(relays?.values() ?? [])].flatMap((relay) => (relay.ws ? [relay.ws] : []))
}

function closed(socket: SocketLike): Promise<void> {
  if (socket.readyState === 3) return Promise.resolve()
  return new Promise((resolve) => socket.addEventListener('close', () => resolve(), { once: true }))
}
