// An embedded Nostr relay: @nostr-relay/core for the protocol, EventStore for storage, a `ws`
// server for transport. This file owns what the core leaves to its host: input validation, the
// per-connection bounds, and clean start-up and shutdown.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  LogLevel,
  type BeforeHandleEventPlugin,
  type BroadcastPlugin,
  type ClientContext,
  type Event,
  type HandleMessagePlugin,
  type HandleMessageResult,
  type IncomingMessage as NostrIncomingMessage,
  type OutgoingMessage
} from '@nostr-relay/common'
import { NostrRelay } from '@nostr-relay/core'
import { EventDeletion } from 'nostr-tools/kinds'
import { verifyEvent } from 'nostr-tools/pure'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { RelayError } from './errors.js'
import { parseClientMessage, type ClientMessage, type Refusal } from './messages.js'
import { EventStore, matchesFilter } from './store.js'

export interface RelayLimits {
  /** Serialized size of one event. Default 64 KiB. */
  maxEventBytes: number
  /** Open subscriptions on one connection. Default 20. */
  maxSubscriptionsPerConnection: number
  /** Filters in one REQ. Default 10. */
  maxFiltersPerSubscription: number
  /** Concurrent WebSocket connections. Default 256. */
  maxConnections: number
  /** Size of one WebSocket message (ws maxPayload); a larger one closes the connection with 1009. Default 128 KiB. */
  maxMessageBytes: number
  /** Tags of one NIP-09 deletion (kind 5): each is a lookup and a tombstone. Default 200. */
  maxDeletionTags: number
}

export interface RelayOptions {
  /** Interface to bind. Default 127.0.0.1: the relay is for the local network only. */
  host?: string
  /** Default 0: an ephemeral port, read it back from `RunningRelay.port`. */
  port?: number
  /** Persistence directory; null or absent keeps events in memory only. */
  dir?: string | null
  limits?: Partial<RelayLimits>
}

export interface RunningRelay {
  /** ws://HOST:PORT */
  url: string
  /** The address the server is actually bound to. */
  host: string
  port: number
  /** Closes every connection, finishes in-flight writes, and releases the port and the journal. */
  close(): Promise<void>
}

export const DEFAULT_LIMITS: Readonly<RelayLimits> = Object.freeze({
  maxEventBytes: 64 * 1024,
  maxSubscriptionsPerConnection: 20,
  maxFiltersPerSubscription: 10,
  maxConnections: 256,
  maxMessageBytes: 128 * 1024,
  maxDeletionTags: 200
})

/** The most events one filter returns, whatever `limit` it asks for. */
export const MAX_QUERY_LIMIT = 500

// A client that floods messages is paused (TCP backpressure) instead of buffered without bound.
const PAUSE_AFTER_PENDING_MESSAGES = 64
// A peer that never answers our close frame is cut off after this long.
const CLOSE_HANDSHAKE_MS = 2000

interface Session {
  readonly ws: WebSocket
  ctx: ClientContext | null
  pending: number
  chain: Promise<void>
}

/** What every connection of one relay shares. */
interface Hub {
  readonly core: NostrRelay
  readonly limits: RelayLimits
  readonly sessions: Map<WebSocket, Session>
  readonly inFlight: Set<Promise<void>>
  closing: boolean
}

export async function startRelay(opts: RelayOptions = {}): Promise<RunningRelay> {
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? 0
  if (typeof host !== 'string' || host === '') throw RelayError.INVALID_OPTION('host', 'must be a non-empty string')
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw RelayError.INVALID_OPTION('port', 'must be an integer from 0 to 65535')
  }
  const limits = resolveLimits(opts.limits)

  const store = new EventStore(MAX_QUERY_LIMIT)
  if (opts.dir) await store.persistTo(opts.dir)
  const sessions = new Map<WebSocket, Session>()
  const hub: Hub = { core: createCore(store, sessions, limits), limits, sessions, inFlight: new Set(), closing: false }

  const http = createServer(relayInformation(limits))
  try {
    await listen(http, host, port)
  } catch (err) {
    await store.destroy()
    throw RelayError.LISTEN_FAILED(host, port, err)
  }
  const wss = new WebSocketServer({ server: http, maxPayload: limits.maxMessageBytes })
  // ws re-emits server errors on wss; without a listener that would throw.
  wss.on('error', () => undefined)
  wss.on('connection', (ws, req) => accept(hub, ws, req))

  const bound = http.address() as AddressInfo
  const url = `ws://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
  let closed: Promise<void> | null = null
  return {
    url,
    host: bound.address,
    port: bound.port,
    close() {
      closed ??= shutdown(hub, wss, http, store)
      return closed
    }
  }
}

function createCore(store: EventStore, sessions: Map<WebSocket, Session>, limits: RelayLimits): NostrRelay {
  const core = new NostrRelay(store, {
    // The core's 1 s filter cache answers REQs with stale results; its 10 min per-id result cache
    // would replay a refusal (say, a failed journal write) for an event that is fine on retry.
    filterResultCacheTtl: 0,
    eventHandlingResultCacheTtl: 0,
    maxSubscriptionsPerClient: limits.maxSubscriptionsPerConnection,
    // Errors only: a failed journal write is worth a line on stderr, chatter is not.
    logLevel: LogLevel.ERROR
  })
  core.register(subscriptionGuard(sessions, limits))
  core.register(tagAwareBroadcast(sessions))
  core.register(deletionGuard(store))
  core.register(deletionBroadcast(sessions))
  return core
}

function accept(hub: Hub, ws: WebSocket, req: IncomingMessage): void {
  // Protocol errors (oversized or invalid frames) close the socket; ws reports them here after
  // sending the close code. There is nothing to recover, but an unhandled 'error' would crash.
  ws.on('error', () => undefined)
  if (hub.closing) {
    ws.close(1001, 'relay shutting down')
    return
  }
  if (hub.sessions.size >= hub.limits.maxConnections) {
    send(ws, ['NOTICE', RelayError.TOO_MANY_CONNECTIONS(hub.limits.maxConnections).nip01Reason()])
    ws.close(1013, 'too many connections')
    return
  }
  const session: Session = { ws, ctx: null, pending: 0, chain: Promise.resolve() }
  hub.sessions.set(ws, session)
  hub.core.handleConnection(ws, req.socket.remoteAddress)
  ws.on('close', () => {
    hub.sessions.delete(ws)
    hub.core.handleDisconnect(ws)
  })
  ws.on('message', (data, isBinary) => enqueue(hub, session, data, isBinary))
}

// One message at a time per connection: a CLOSE must not overtake the REQ it closes, and OKs come
// back in the order the events were sent.
function enqueue(hub: Hub, session: Session, data: RawData, isBinary: boolean): void {
  const { ws } = session
  session.pending++
  if (session.pending === PAUSE_AFTER_PENDING_MESSAGES) ws.pause()
  const done = session.chain
    .then(() => handleRaw(hub, session, data, isBinary))
    .catch(() => send(ws, ['NOTICE', 'error: internal relay error while handling the message']))
    .finally(() => {
      hub.inFlight.delete(done)
      session.pending--
      if (session.pending === 0 && ws.isPaused) ws.resume()
    })
  session.chain = done
  hub.inFlight.add(done)
}

async function handleRaw(hub: Hub, session: Session, data: RawData, isBinary: boolean): Promise<void> {
  // The core recreates the context of a client it does not know, so a message queued behind the
  // socket's close would leave a context behind that nothing ever removes.
  if (session.ws.readyState !== WebSocket.OPEN) return
  if (isBinary) {
    send(session.ws, ['NOTICE', RelayError.MALFORMED_MESSAGE('binary messages are not Nostr messages').nip01Reason()])
    return
  }
  const parsed = parseClientMessage(rawToString(data))
  if (!parsed.ok) {
    sendRefusal(session.ws, parsed.refusal)
    return
  }
  const refusal = admit(parsed.message, hub.limits)
  if (refusal) {
    sendRefusal(session.ws, refusal)
    return
  }
  await hub.core.handleMessage(session.ws, toCoreMessage(parsed.message))
}

async function shutdown(hub: Hub, wss: WebSocketServer, http: Server, store: EventStore): Promise<void> {
  hub.closing = true
  await Promise.all([...wss.clients].map(closeSocket))
  await Promise.all([...hub.inFlight])
  await new Promise<void>((resolve) => wss.close(() => resolve()))
  await new Promise<void>((resolve) => {
    http.close(() => resolve())
    http.closeAllConnections()
  })
  await hub.core.destroy()
  await store.destroy()
}

function resolveLimits(given: Partial<RelayLimits> | undefined): RelayLimits {
  const limits = { ...DEFAULT_LIMITS, ...given }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw RelayError.INVALID_OPTION(`limits.${name}`, 'must be a positive integer')
  }
  return limits
}

/** Checks the bounds that need only the message itself; the subscription count needs the core's context. */
function admit(message: ClientMessage, limits: RelayLimits): Refusal | null {
  if (message.type === 'EVENT') {
    const { event } = message
    const size = Buffer.byteLength(JSON.stringify(event))
    if (size > limits.maxEventBytes) {
      return { reply: 'OK', eventId: event.id, error: RelayError.EVENT_TOO_LARGE(size, limits.maxEventBytes) }
    }
    // The core checks signatures only after its duplicate lookup, so a forged copy of a stored
    // event would get "OK true, duplicate". Verify first, so a bad signature is always refused.
    if (!verifyEvent(event)) return { reply: 'OK', eventId: event.id, error: RelayError.BAD_SIGNATURE() }
    if (event.kind === EventDeletion && event.tags.length > limits.maxDeletionTags) {
      const error = RelayError.TOO_MANY_TAGS('deletion', event.tags.length, limits.maxDeletionTags)
      return { reply: 'OK', eventId: event.id, error }
    }
  }
  if (message.type === 'REQ' && message.filters.length > limits.maxFiltersPerSubscription) {
    return {
      reply: 'CLOSED',
      subscriptionId: message.subscriptionId,
      error: RelayError.TOO_MANY_FILTERS(message.filters.length, limits.maxFiltersPerSubscription)
    }
  }
  return null
}

function toCoreMessage(message: ClientMessage): NostrIncomingMessage {
  switch (message.type) {
    case 'EVENT':
      return ['EVENT', message.event]
    case 'AUTH':
      return ['AUTH', message.event]
    case 'REQ':
      return ['REQ', message.subscriptionId, ...message.filters]
    case 'CLOSE':
      return ['CLOSE', message.subscriptionId]
  }
}

// The core's own limit is an LRU that silently evicts the oldest subscription; refuse instead.
// This plugin also records each connection's context, which the broadcaster needs.
function subscriptionGuard(sessions: Map<WebSocket, Session>, limits: RelayLimits): HandleMessagePlugin {
  return {
    async handleMessage(ctx, message, next): Promise<HandleMessageResult> {
      const session = sessions.get(ctx.client as WebSocket)
      if (session) session.ctx = ctx
      if (message[0] === 'REQ') {
        const subscriptionId = message[1]
        if (!ctx.subscriptions.has(subscriptionId) && ctx.subscriptions.size >= limits.maxSubscriptionsPerConnection) {
          const error = RelayError.TOO_MANY_SUBSCRIPTIONS(limits.maxSubscriptionsPerConnection)
          ctx.sendMessage(['CLOSED', subscriptionId, error.nip01Reason()])
          return { messageType: 'REQ', events: [] }
        }
      }
      return next()
    }
  }
}

// The core matches live events on ids, authors, kinds, since and until only: it ignores #tag
// filters, so a NIP-47 client subscribed to its own reply (`#e`) would be sent every reply of the
// wallet. Match with nostr-tools' complete NIP-01 matcher instead.
function tagAwareBroadcast(sessions: Map<WebSocket, Session>): BroadcastPlugin {
  return { broadcast: async (event: Event) => broadcast(sessions, event) }
}

function broadcast(sessions: Map<WebSocket, Session>, event: Event): void {
  for (const { ctx } of sessions.values()) {
    if (!ctx?.isOpen) continue
    for (const [subscriptionId, filters] of ctx.subscriptions.entries()) {
      if (filters.some((filter) => matchesFilter(filter, event))) ctx.sendMessage(['EVENT', subscriptionId, event])
    }
  }
}

// An event its author deleted is refused with a reason; the core would otherwise find it neither
// stored nor a duplicate, and the store would drop it behind an "OK true".
function deletionGuard(store: EventStore): BeforeHandleEventPlugin {
  return {
    beforeHandleEvent(event) {
      if (!store.isDeleted(event)) return { canHandle: true }
      return { canHandle: false, message: RelayError.DELETED(event.id).nip01Reason() }
    }
  }
}

// The core stores a kind 5 through deleteByDeletionRequest but never broadcasts it, and NIP-90
// providers subscribe to kind 5 to learn of cancellations: send a new one (OK without a
// "duplicate:" message) to live subscribers here.
function deletionBroadcast(sessions: Map<WebSocket, Session>): HandleMessagePlugin {
  return {
    async handleMessage(_ctx, message, next): Promise<HandleMessageResult> {
      const result = await next()
      if (message[0] !== 'EVENT' || message[1].kind !== EventDeletion) return result
      if (result?.messageType === 'EVENT' && result.success && !result.message) broadcast(sessions, message[1])
      return result
    }
  }
}

function sendRefusal(ws: WebSocket, refusal: Refusal): void {
  const reason = refusal.error.nip01Reason()
  if (refusal.reply === 'OK') send(ws, ['OK', refusal.eventId, false, reason])
  else if (refusal.reply === 'CLOSED') send(ws, ['CLOSED', refusal.subscriptionId, reason])
  else send(ws, ['NOTICE', reason])
}

function send(ws: WebSocket, message: OutgoingMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message))
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}

function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_MS)
    ws.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
    ws.close(1001, 'relay shutting down')
  })
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

// NIP-11: a plain HTTP GET with `Accept: application/nostr+json` describes the relay and its limits.
function relayInformation(limits: RelayLimits): (req: IncomingMessage, res: ServerResponse) => void {
  const document = JSON.stringify({
    name: '2020117 devnet relay',
    description: 'Embedded Nostr relay for the 2020117 local network',
    software: '@2020117/relay',
    supported_nips: [1, 9, 11, 40],
    limitation: {
      max_message_length: limits.maxMessageBytes,
      max_subscriptions: limits.maxSubscriptionsPerConnection,
      max_filters: limits.maxFiltersPerSubscription,
      max_limit: MAX_QUERY_LIMIT,
      max_subid_length: 64,
      auth_required: false,
      payment_required: false
    }
  })
  return (req, res) => {
    if ((req.headers.accept ?? '').includes('application/nostr+json')) {
      res.writeHead(200, { 'content-type': 'application/nostr+json', 'access-control-allow-origin': '*' })
      res.end(document)
      return
    }
    res.writeHead(426, { 'content-type': 'text/plain' })
    res.end('This is a Nostr relay: connect with a WebSocket client.\n')
  }
}
