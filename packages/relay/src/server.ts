// An embedded Nostr relay: @nostr-relay/core for the protocol, SQLite for storage, a `ws` server
// for transport. This file owns what the core leaves to its host: admission (bounds, policy,
// NIP-42, rate limits; admission.ts), broadcasting, and clean start-up and shutdown.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import {
  LogLevel,
  type BroadcastPlugin,
  type ClientContext,
  type Event,
  type Filter,
  type HandleMessagePlugin,
  type HandleMessageResult,
  type IncomingMessage as NostrIncomingMessage,
  type OutgoingMessage
} from '@nostr-relay/common'
import { NostrRelay } from '@nostr-relay/core'
import { matchFilter, type Filter as NostrToolsFilter } from 'nostr-tools/filter'
import { EventDeletion } from 'nostr-tools/kinds'
import { WebSocket, WebSocketServer, type RawData } from 'ws'
import { admitEvent, admitReq, authenticate, type Gate, type Peer, type RelayLimits } from './admission.js'
import { mayRead, newChallenge } from './auth.js'
import { RelayError } from './errors.js'
import { relayInfoDocument } from './info.js'
import { parseClientMessage, type ClientMessage, type Refusal } from './messages.js'
import { resolvePolicy, type RelayPolicyOptions, type ResolvedPolicy } from './policy.js'
import { BucketMap, TokenBucket } from './rate.js'
import { SqliteEventRepository } from './repository.js'

export type { RelayLimits } from './admission.js'

export interface RelayOptions {
  /** Interface to bind. Default 127.0.0.1: the relay is for the local network only. */
  host?: string
  /** Default 0: an ephemeral port, read it back from `RunningRelay.port`. */
  port?: number
  /** The SQLite file; null or absent keeps events in memory only. */
  db?: string | null
  /** @deprecated Use `db`: `dir` means `<dir>/relay.sqlite`. */
  dir?: string | null
  /** The URL clients dial, which NIP-42's `relay` tag must name. Default the bound ws:// URL. */
  publicUrl?: string
  limits?: Partial<RelayLimits>
  policy?: Partial<RelayPolicyOptions>
}

export interface RunningRelay {
  /** ws://HOST:PORT */
  url: string
  /** The address the server is actually bound to. */
  host: string
  port: number
  /** The URL NIP-42 AUTH events must name. */
  publicUrl: string
  /** The NIP-11 document served over HTTP. */
  info: Record<string, unknown>
  /** Closes every connection, finishes in-flight writes, and releases the port and the database. */
  close(): Promise<void>
}

export const DEFAULT_LIMITS: Readonly<RelayLimits> = Object.freeze({
  maxEventBytes: 64 * 1024,
  maxSubscriptionsPerConnection: 20,
  maxFiltersPerSubscription: 10,
  maxConnections: 256,
  maxMessageBytes: 128 * 1024,
  maxDeletionTags: 200,
  eventsPerSecondPerPubkey: 10,
  eventBurstPerPubkey: 100,
  eventsPerSecondPerConnection: 20,
  eventBurstPerConnection: 200,
  reqsPerSecondPerConnection: 10,
  reqBurstPerConnection: 100
})

/** The most events one filter returns, whatever `limit` it asks for. */
export const MAX_QUERY_LIMIT = 500

/** Per-pubkey buckets kept at most; fresh keys beyond it evict the least recently used. */
export const MAX_PUBKEY_BUCKETS = 10_000
// How often expired and retired events are pruned and idle rate buckets forgotten.
const SWEEP_INTERVAL_MS = 60_000
// A client that floods messages is paused (TCP backpressure) instead of buffered without bound.
const PAUSE_AFTER_PENDING_MESSAGES = 64
// A peer that never answers our close frame is cut off after this long.
const CLOSE_HANDSHAKE_MS = 2000

interface Session extends Peer {
  readonly ws: WebSocket
  ctx: ClientContext | null
  pending: number
  chain: Promise<void>
}

/** What every connection of one relay shares. */
interface Hub extends Gate {
  readonly core: NostrRelay
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
  const policy = resolvePolicy(opts.policy)
  const info = relayInfoDocument({ ...limits, maxQueryLimit: MAX_QUERY_LIMIT }, policy)
  const repository = new SqliteEventRepository(databasePath(opts), MAX_QUERY_LIMIT)

  const http = createServer(serveInfo(JSON.stringify(info)))
  try {
    await listen(http, host, port)
  } catch (err) {
    await repository.destroy()
    throw RelayError.LISTEN_FAILED(host, port, err)
  }
  const bound = http.address() as AddressInfo
  const url = `ws://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`
  const publicUrl = opts.publicUrl ?? url
  const hub = createHub(repository, limits, policy, publicUrl)
  const sweeper = startSweeper(hub)

  const wss = new WebSocketServer({ server: http, maxPayload: limits.maxMessageBytes })
  // ws re-emits server errors on wss; without a listener that would throw.
  wss.on('error', () => undefined)
  wss.on('connection', (ws, req) => accept(hub, ws, req))

  let closed: Promise<void> | null = null
  return {
    url,
    host: bound.address,
    port: bound.port,
    publicUrl,
    info,
    close() {
      clearInterval(sweeper)
      closed ??= shutdown(hub, wss, http)
      return closed
    }
  }
}

function createHub(
  repository: SqliteEventRepository,
  limits: RelayLimits,
  policy: ResolvedPolicy,
  publicUrl: string
): Hub {
  const sessions = new Map<WebSocket, Session>()
  const pubkeyRate = { perSecond: limits.eventsPerSecondPerPubkey, burst: limits.eventBurstPerPubkey }
  return {
    core: createCore(repository, sessions, limits, policy),
    limits,
    policy,
    repository,
    pubkeyBuckets: new BucketMap(pubkeyRate, MAX_PUBKEY_BUCKETS),
    publicUrl,
    sessions,
    inFlight: new Set(),
    closing: false
  }
}

function databasePath(opts: RelayOptions): string {
  if (opts.db && opts.dir) throw RelayError.INVALID_OPTION('dir', 'is the deprecated spelling of db: give one of them')
  if (opts.db) return opts.db
  if (opts.dir) return join(opts.dir, 'relay.sqlite')
  return ':memory:'
}

// Expired events are never served (the query skips them); the sweep reclaims their space, and
// retires regular events past `retentionSeconds`. Once at start, then every minute.
function startSweeper(hub: Hub): NodeJS.Timeout {
  const sweep = (): void => {
    if (hub.closing) return
    try {
      hub.repository.prune(Math.floor(Date.now() / 1000), hub.policy.retentionSeconds)
    } catch (err) {
      console.error(`relay: pruning ${hub.repository.path} failed: ${String(err)}`)
    }
    hub.pubkeyBuckets.sweep()
  }
  sweep()
  const timer = setInterval(sweep, SWEEP_INTERVAL_MS)
  timer.unref()
  return timer
}

function createCore(
  repository: SqliteEventRepository,
  sessions: Map<WebSocket, Session>,
  limits: RelayLimits,
  policy: ResolvedPolicy
): NostrRelay {
  const core = new NostrRelay(repository, {
    // The core's 1 s filter cache answers REQs with stale results; its 10 min per-id result cache
    // would replay a refusal (say, a failed write) for an event that is fine on retry.
    filterResultCacheTtl: 0,
    eventHandlingResultCacheTtl: 0,
    maxSubscriptionsPerClient: limits.maxSubscriptionsPerConnection,
    // Errors only: a failed write is worth a line on stderr, chatter is not. No `domain`: NIP-42
    // is done in admission.ts (auth.ts says why).
    logLevel: LogLevel.ERROR
  })
  core.register(subscriptionGuard(sessions, limits))
  core.register(tagAwareBroadcast(sessions, policy))
  core.register(deletionBroadcast(sessions, policy))
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
  const { limits } = hub
  const session: Session = {
    ws,
    ctx: null,
    pending: 0,
    chain: Promise.resolve(),
    challenge: hub.policy.auth === 'off' ? null : newChallenge(),
    authed: new Set(),
    events: new TokenBucket({ perSecond: limits.eventsPerSecondPerConnection, burst: limits.eventBurstPerConnection }),
    reqs: new TokenBucket({ perSecond: limits.reqsPerSecondPerConnection, burst: limits.reqBurstPerConnection })
  }
  hub.sessions.set(ws, session)
  hub.core.handleConnection(ws, req.socket.remoteAddress)
  if (session.challenge !== null) send(ws, ['AUTH', session.challenge])
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
  const { message } = parsed
  if (message.type === 'AUTH') {
    const result = authenticate(hub, session, message.event)
    send(session.ws, ['OK', message.event.id, result.ok, result.ok ? '' : result.error.nip01Reason()])
    return
  }
  const refusal = admit(hub, session, message)
  if (refusal) {
    sendRefusal(session.ws, refusal)
    return
  }
  await hub.core.handleMessage(session.ws, toCoreMessage(message))
}

function admit(hub: Hub, session: Session, message: ClientMessage): Refusal | null {
  if (message.type === 'EVENT') return admitEvent(hub, session, message.event)
  if (message.type === 'REQ') return admitReq(hub, session, message.subscriptionId, message.filters)
  return null
}

async function shutdown(hub: Hub, wss: WebSocketServer, http: Server): Promise<void> {
  hub.closing = true
  await Promise.all([...wss.clients].map(closeSocket))
  await Promise.all([...hub.inFlight])
  await new Promise<void>((resolve) => wss.close(() => resolve()))
  await new Promise<void>((resolve) => {
    http.close(() => resolve())
    http.closeAllConnections()
  })
  await hub.core.destroy()
  await hub.repository.destroy()
}

// Counts and sizes are positive integers; rates are positive numbers (0.5/s is a fine rate).
function resolveLimits(given: Partial<RelayLimits> | undefined): RelayLimits {
  const limits = { ...DEFAULT_LIMITS, ...given }
  for (const [name, value] of Object.entries(limits)) {
    if (name.includes('PerSecond')) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw RelayError.INVALID_OPTION(`limits.${name}`, 'must be a positive number')
      }
    } else if (!Number.isSafeInteger(value) || value < 1) {
      throw RelayError.INVALID_OPTION(`limits.${name}`, 'must be a positive integer')
    }
  }
  return limits
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
// wallet. Match with nostr-tools' complete NIP-01 matcher instead. This is also where auth 'all'
// withholds NIP-47 events from connections that are neither their author nor their `p`; those
// kinds are ephemeral, so live delivery is the only delivery.
function tagAwareBroadcast(sessions: Map<WebSocket, Session>, policy: ResolvedPolicy): BroadcastPlugin {
  return { broadcast: async (event: Event) => broadcast(sessions, policy, event) }
}

function broadcast(sessions: Map<WebSocket, Session>, policy: ResolvedPolicy, event: Event): void {
  for (const { ctx, authed } of sessions.values()) {
    if (!ctx?.isOpen) continue
    if (policy.auth === 'all' && !mayRead(event, authed)) continue
    for (const [subscriptionId, filters] of ctx.subscriptions.entries()) {
      if (filters.some((filter) => matchesFilter(filter, event))) ctx.sendMessage(['EVENT', subscriptionId, event])
    }
  }
}

// Both libraries describe the NIP-01 filter: @nostr-relay/common lists the single-letter tag keys,
// nostr-tools uses an index signature. Filters are shape-checked on arrival (messages.ts).
function matchesFilter(filter: Filter, event: Event): boolean {
  return matchFilter(filter as NostrToolsFilter, event)
}

// The core stores a kind 5 through deleteByDeletionRequest but never broadcasts it, and NIP-90
// providers subscribe to kind 5 to learn of cancellations: send a new one (OK without a
// "duplicate:" message) to live subscribers here.
function deletionBroadcast(sessions: Map<WebSocket, Session>, policy: ResolvedPolicy): HandleMessagePlugin {
  return {
    async handleMessage(_ctx, message, next): Promise<HandleMessageResult> {
      const result = await next()
      if (message[0] !== 'EVENT' || message[1].kind !== EventDeletion) return result
      if (result?.messageType === 'EVENT' && result.success && !result.message) broadcast(sessions, policy, message[1])
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

// NIP-11: a plain HTTP GET with `Accept: application/nostr+json` describes the relay and its policy.
function serveInfo(document: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if ((req.headers.accept ?? '').includes('application/nostr+json')) {
      res.writeHead(200, {
        'content-type': 'application/nostr+json',
        'access-control-allow-origin': '*',
        'access-control-allow-headers': '*',
        'access-control-allow-methods': 'GET'
      })
      res.end(document)
      return
    }
    res.writeHead(426, { 'content-type': 'text/plain' })
    res.end('This is a Nostr relay: connect with a WebSocket client.\n')
  }
}
