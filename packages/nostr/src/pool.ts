// One relay pool per process, on nostr-tools' SimplePool: it verifies every event's signature,
// reconnects to a dropped relay with backoff and resubscribes, and pings to notice dead links.
//
// A subscription stays open for as long as its owner wants it: a persistent pool opens it again on
// a relay that came back, from `since()` (the owner's cursor), so that a relay restart loses no
// request and replays nothing the cursor has passed.
//
// A daemon (the agent) asks for a persistent pool: it holds a connection to every relay, redials a
// relay that went away (or was down from the start) with its own backoff, and emits 'reconnect'
// when one comes back, so that what the relay may have lost (a restart with empty storage) can be
// published again. nostr-tools' own reconnect is off there: a relay object that redials by itself
// and is then dropped from the pool by a failed publish would redial forever beside its successor.
//
// A pool given its owner's key answers relays' NIP-42 challenges with it (on connect, and again
// when a publish or a subscription is refused `auth-required:`), and `publishWithPow` mines the
// proof of work the relays' NIP-11 documents price the event's kind at (SPEC §12), in a worker.

import { EventEmitter } from 'node:events'
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool'
import { SendingOnClosedConnection, type AbstractRelay, type Subscription } from 'nostr-tools/abstract-relay'
import type { Event, EventTemplate, Filter, VerifiedEvent } from 'nostr-tools'
import { finalizeEvent, getPublicKey } from 'nostr-tools/pure'
import { MAX_POW_BITS, SOCIAL_POW_BITS, committedPowBits, requiredPowBits } from '@2020117/protocol'
import { WebSocket } from 'ws'
import { NostrError, printable as printableText } from './errors.js'
import { readRelayPolicy } from './policy.js'
import { DEFAULT_POW_TIMEOUT_MS, mineEvent } from './pow.js'

/**
 * nostr-tools closes a socket that is still connecting when its connection timeout fires, after
 * dropping the socket's error listener, and ws then emits 'error' with no listener: a relay that
 * takes the TCP connection and never answers the handshake would kill the process. Every socket
 * keeps a listener of its own; nostr-tools still learns of the failure through its timeout.
 */
class GuardedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args)
    this.on('error', () => {})
  }
}

useWebSocketImplementation(GuardedWebSocket)

export interface RelayPoolOptions {
  /** Hold a connection to every relay and redial it when it drops; emits 'reconnect'. */
  persistent?: boolean
  /** The owner's key: answers NIP-42 challenges, and signs what `publishWithPow` mines. */
  secretKey?: Uint8Array
  /** How long `publishWithPow` may mine one event (default 60 s). */
  powTimeoutMs?: number
  /**
   * The most proof of work this pool mines for any relay (default DEFAULT_MAX_POW_BITS, the
   * network's dearest price): a relay that asks more for a kind is left out of that publish, and
   * says so in `refused`, so that one stranger's price cannot hold every event hostage.
   */
  maxPowBits?: number
  /** Told what is worth knowing but not an error: a relay without a policy (debug), a mined retry (info), a refused AUTH (warn). */
  log?: PoolLog
}

/** The part of a logger the pool needs: @2020117/cli's Logger fits. */
export interface PoolLog {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
}

const QUIET: PoolLog = { debug: () => {}, info: () => {}, warn: () => {} }

export interface PublishOptions {
  /** Per relay, how long to wait for its OK (default 5 s). */
  timeoutMs?: number
  /** Publish to these relays instead of the pool's. */
  only?: string[]
  /**
   * Keep the id once any relay took the event: a `pow:` refusal then gets no mined retry (whose id
   * would differ). For a job request, whose answers name its id: two live ids would split them.
   */
  stableId?: boolean
}

/** The network's dearest price (SPEC §12.2): what a pool mines at most unless told otherwise. */
export const DEFAULT_MAX_POW_BITS = SOCIAL_POW_BITS

/** What `publishWithPow` published, and where. */
export interface Published {
  /** The event as the relays got it: a mined event's id is not the id of the template or event given. */
  event: Event
  accepted: string[]
  refused: Array<{ relay: string; reason: string }>
}

type Outcome = { relay: string; ok: boolean; reason: string }
type AuthSigner = (template: EventTemplate) => Promise<VerifiedEvent>

/** Redial delays of a persistent pool, in ms; the last repeats. */
export const REDIAL_BACKOFF_MS: readonly number[] = Object.freeze([500, 1000, 2000, 5000, 10_000, 30_000])
// setTimeout's largest delay: a persistent pool never closes a relay for being idle.
const NEVER_IDLE_MS = 2 ** 31 - 1

export interface SubscribeOptions {
  /** Asked at every (re)open: only events from this unix time on. */
  since?: () => number | undefined
}

export interface PoolSubscription {
  /** Resolves when every connected relay has sent what it stored (EOSE) for this subscription. */
  readonly ready: Promise<void>
  close(): void
}

interface OpenSubscription {
  filter: Filter
  onevent: (event: Event, relay: string) => void
  opts: SubscribeOptions
  /** Per connected relay: the relay's subscription and its EOSE. */
  open: Map<string, { sub: Subscription; eose: Promise<void> }>
}

export interface RelayPool {
  /** A relay that had dropped, or had never answered, is connected again. */
  on(event: 'reconnect', listener: (url: string) => void): this
}

export class RelayPool extends EventEmitter {
  readonly relays: string[]
  private readonly pool: SimplePool
  private closed = false
  private readonly wakeups = new Set<() => void>()
  private readonly persistent: boolean
  private readonly connected = new Map<string, AbstractRelay>()
  private readonly subscriptions = new Set<OpenSubscription>()
  /** Per relay, settled once its first dial has succeeded or failed: `ready` waits for it. */
  private readonly firstDials: Array<Promise<void>> = []
  private readonly secretKey: Uint8Array | null
  private readonly signAuth: AuthSigner | null
  private readonly powTimeoutMs: number
  private readonly maxPowBits: number
  private readonly log: PoolLog
  private readonly debug: (msg: string, fields?: Record<string, unknown>) => void
  /** Aborted by close(): stops any mining in flight. */
  private readonly mining = new AbortController()

  constructor(relays: string[], opts: RelayPoolOptions = {}) {
    super()
    this.relays = [...new Set(relays)]
    this.secretKey = opts.secretKey ?? null
    this.powTimeoutMs = opts.powTimeoutMs ?? DEFAULT_POW_TIMEOUT_MS
    this.maxPowBits = opts.maxPowBits ?? DEFAULT_MAX_POW_BITS
    this.log = opts.log ?? QUIET
    this.debug = (msg, fields) => this.log.debug(msg, fields)
    const sk = this.secretKey
    this.signAuth = sk ? async (template) => finalizeEvent(template, sk) : null
    this.pool = new AuthingPool({ enableReconnect: !opts.persistent, enablePing: true }, this.signAuth, (url, err) =>
      this.log.warn(`relay ${url} refused our NIP-42 authentication: ${printable(err.message)}`, { relay: url })
    )
    this.persistent = opts.persistent === true
    if (opts.persistent) {
      this.pool.idleTimeout = NEVER_IDLE_MS
      for (const url of this.relays) {
        let dialled!: () => void
        this.firstDials.push(new Promise<void>((resolve) => (dialled = resolve)))
        void this.supervise(url, dialled)
      }
    }
  }

  async query(filter: Filter, maxWaitMs = 4000): Promise<Event[]> {
    // nostr-tools passes onauth on to the subscription, though its type leaves it out.
    const params = { maxWait: maxWaitMs, ...(this.signAuth ? { onauth: this.signAuth } : {}) }
    return this.pool.querySync(this.relays, filter, params)
  }

  /**
   * Publishes a signed event as it is to every relay (or to `only`); resolves with how many
   * accepted it (0 is not an error: relays come and go). For events that need no proof of work.
   */
  async publish(event: Event, timeoutMs = 5000, only?: string[]): Promise<number> {
    return (await this.attempt(event, only ?? this.relays, timeoutMs)).filter((o) => o.ok).length
  }

  /**
   * The event as `publishWithPow` would first send it: mined to the price the relays state for its
   * kind, or as it is when that is 0. For a caller that must know the id before it publishes (to
   * follow the answers); publishing it then costs no second mining unless a relay refuses it.
   */
  async minedFor(input: EventTemplate | Event, opts: PublishOptions = {}): Promise<Event> {
    const price = await this.priceOf([...new Set(opts.only ?? this.relays)], input.kind)
    return this.priced(input, price.bits, price.within)
  }

  /**
   * Signs a template (or takes a signed event of the pool's key) with the proof of work the
   * relays' policies price its kind at, mined once for the dearest relay within `maxPowBits` (a
   * dearer one is left out); an event that needs none goes as it is. Relays that refuse `pow:` are
   * read again (their documents, and the bits their refusals name), and get the event mined to
   * that price once more (SPEC §12.4): to them alone when another relay took the first one, whose
   * id is then the one returned; not at all with `stableId` then. Throws POW_TOO_SLOW, or
   * POW_REFUSED when no relay took it and a relay still wanted more work.
   */
  async publishWithPow(input: EventTemplate | Event, opts: PublishOptions = {}): Promise<Published> {
    const timeoutMs = opts.timeoutMs ?? 5000
    const price = await this.priceOf([...new Set(opts.only ?? this.relays)], input.kind)
    let event = await this.priced(input, price.bits, price.within)
    let outcomes = [...(await this.attempt(event, price.within, timeoutMs)), ...price.skipped]
    const took = outcomes.some((o) => o.ok)
    const refusedPow = outcomes.filter((o) => !o.ok && o.reason.startsWith('pow:') && price.within.includes(o.relay))
    if (refusedPow.length > 0 && !(opts.stableId && took)) {
      const retry = await this.retryPrice(refusedPow, event.kind)
      if (retry.asking.length > 0 && retry.bits > committedPowBits(event)) {
        this.log.info(
          `${retry.asking.join(', ')} wanted more proof of work: mining ${retry.bits} bits and publishing once more`,
          {
            kind: event.kind,
            bits: retry.bits
          }
        )
        const again = await this.priced(input, retry.bits, retry.asking)
        const second = await this.attempt(again, retry.asking, timeoutMs)
        outcomes = [...outcomes.filter((o) => !retry.asking.includes(o.relay)), ...second]
        if (!took) event = again
      }
    }
    const result = publishedOf(event, outcomes)
    const stillPow = result.refused.filter((r) => r.reason.startsWith('pow:'))
    if (result.accepted.length === 0 && stillPow[0])
      throw NostrError.POW_REFUSED(
        stillPow.map((r) => r.relay),
        event.kind,
        stillPow[0].reason
      )
    return result
  }

  /**
   * Calls `onevent` with every event that matches `filter`, from every relay (the same event may
   * come from several: deduplicate by id). Signatures are verified by the pool before it is called.
   */
  subscribe(
    filter: Filter,
    onevent: (event: Event, relay: string) => void,
    opts: SubscribeOptions = {}
  ): PoolSubscription {
    if (!this.persistent) return this.subscribeOnce(filter, onevent, opts)
    const entry: OpenSubscription = { filter, onevent, opts, open: new Map() }
    this.subscriptions.add(entry)
    for (const [url, relay] of this.connected) this.openOn(entry, url, relay)
    const dials = this.firstDials
    return {
      get ready() {
        return Promise.all(dials).then(() => Promise.all([...entry.open.values()].map((o) => o.eose)).then(() => {}))
      },
      close: () => {
        this.subscriptions.delete(entry)
        for (const { sub } of entry.open.values()) sub.close()
        entry.open.clear()
      }
    }
  }

  close(): void {
    this.closed = true
    this.mining.abort(new Error('the relay pool was closed'))
    this.subscriptions.clear()
    for (const wake of this.wakeups) wake()
    this.pool.close(this.relays)
  }

  /** Keeps one relay connected: dial, wait for the connection to close, back off, dial again. */
  private async supervise(url: string, dialled: () => void): Promise<void> {
    let failures = 0
    let dropped = false
    while (!this.closed) {
      try {
        const relay = await this.pool.ensureRelay(url, { connectionTimeout: 5000 })
        // Connected while close() ran: the pool no longer holds it, so nobody else would close it.
        if (this.closed) return relay.close()
        failures = 0
        void readRelayPolicy(url, { log: this.debug }) // so that the first publish finds it cached
        this.connected.set(url, relay)
        for (const entry of this.subscriptions) this.openOn(entry, url, relay)
        dialled()
        if (dropped) this.emit('reconnect', url)
        await closedOf(relay)
        this.connected.delete(url)
        for (const entry of this.subscriptions) entry.open.delete(url)
      } catch {
        failures++
        dialled()
      }
      dropped = true
      await this.pause(REDIAL_BACKOFF_MS[Math.min(failures, REDIAL_BACKOFF_MS.length - 1)] as number)
    }
  }

  /** `retry`: the EOSE of a subscription closed `auth-required:`, opened again once authenticated. */
  private openOn(
    entry: OpenSubscription,
    url: string,
    relay: AbstractRelay,
    retry?: { eose: Promise<void>; eosed: () => void }
  ): void {
    const since = entry.opts.since?.()
    const filter = since === undefined ? entry.filter : { ...entry.filter, since }
    let eosed!: () => void
    const eose = retry?.eose ?? new Promise<void>((resolve) => (eosed = resolve))
    if (retry) eosed = retry.eosed
    const sub = relay.subscribe([filter], {
      onevent: (event) => entry.onevent(event, url),
      oneose: () => eosed(),
      // A subscription the relay closed (or a dropped connection) counts as done for `ready`.
      onclose: (reason) => {
        const mine = entry.open.get(url)?.sub === sub
        if (mine && !retry && this.signAuth && reason.startsWith('auth-required:')) {
          void relay.auth(this.signAuth).then(
            () => {
              if (this.subscriptions.has(entry) && this.connected.get(url) === relay)
                this.openOn(entry, url, relay, { eose, eosed })
              else eosed()
            },
            () => eosed() // the relay went away: supervise() opens the subscription again on its successor
          )
          return
        }
        eosed()
        if (mine) entry.open.delete(url)
      }
    })
    entry.open.set(url, { sub, eose })
  }

  /** Per relay, whether it took the event and, if not, its reason (or why it could not be asked). */
  private async attempt(event: Event, relays: string[], timeoutMs: number): Promise<Outcome[]> {
    const unique = [...new Set(relays)]
    const tries = this.pool.publish(unique, event, this.signAuth ? { onauth: this.signAuth } : undefined)
    return Promise.all(tries.map((p, i) => outcomeOf(unique[i] as string, p, timeoutMs)))
  }

  /** The relays that price `kind` within `maxPowBits`, the most bits one of them asks, and the others, refused. */
  private async priceOf(
    relays: string[],
    kind: number
  ): Promise<{ bits: number; within: string[]; skipped: Outcome[] }> {
    const prices = await Promise.all(
      relays.map(async (url) => requiredPowBits(await readRelayPolicy(url, { log: this.debug }), kind))
    )
    const within = relays.filter((_, i) => (prices[i] as number) <= this.maxPowBits)
    const skipped = relays.flatMap((relay, i) =>
      (prices[i] as number) <= this.maxPowBits ? [] : [this.tooDear(relay, kind, prices[i] as number)]
    )
    return { bits: Math.max(0, ...prices.filter((b) => b <= this.maxPowBits)), within, skipped }
  }

  /** After `pow:` refusals: each relay's document read again and the bits its refusal names; the dearest left out. */
  private async retryPrice(refused: Outcome[], kind: number): Promise<{ bits: number; asking: string[] }> {
    const prices = await Promise.all(
      refused.map(async (o) => {
        const policy = await readRelayPolicy(o.relay, { refresh: true, log: this.debug })
        return Math.min(MAX_POW_BITS, Math.max(requiredPowBits(policy, kind), bitsNamedIn(o.reason)))
      })
    )
    const asking = refused.filter((_, i) => (prices[i] as number) <= this.maxPowBits).map((o) => o.relay)
    for (const [i, o] of refused.entries())
      if ((prices[i] as number) > this.maxPowBits) this.tooDear(o.relay, kind, prices[i] as number)
    return { bits: Math.max(0, ...prices.filter((b) => b <= this.maxPowBits)), asking }
  }

  private tooDear(relay: string, kind: number, bits: number): Outcome {
    const reason = `pow: ${printable(relay)} asks ${bits} bits for kind ${kind}, above this client's limit of ${this.maxPowBits}`
    this.log.warn(
      `left out ${printable(relay)}: it asks ${bits} bits of proof of work for kind ${kind} (the most this client mines is ${this.maxPowBits})`
    )
    return { relay, ok: false, reason }
  }

  /** The event with at least `bits` of committed work: as given when it has them, else mined and signed. */
  private async priced(input: EventTemplate | Event, bits: number, relays: string[]): Promise<Event> {
    const signed = isSigned(input)
    if (signed && committedPowBits(input) >= bits) return input
    const sk = this.secretKey
    if (!sk || (signed && input.pubkey !== getPublicKey(sk))) throw NostrError.POW_NEEDS_KEY(input.kind, bits)
    const template = { kind: input.kind, content: input.content, tags: input.tags, created_at: input.created_at }
    if (bits === 0) return finalizeEvent(template, sk)
    const mined = await mineEvent({ ...template, pubkey: getPublicKey(sk) }, bits, {
      timeoutMs: this.powTimeoutMs,
      relays,
      signal: this.mining.signal
    })
    return finalizeEvent(
      { kind: mined.kind, content: mined.content, tags: mined.tags, created_at: mined.created_at },
      sk
    )
  }

  /** A pool that is not persistent leaves reconnecting and resubscribing to nostr-tools. */
  private subscribeOnce(
    filter: Filter,
    onevent: (event: Event, relay: string) => void,
    opts: SubscribeOptions
  ): PoolSubscription {
    const since = opts.since?.()
    let eosed!: () => void
    const ready = new Promise<void>((resolve) => (eosed = resolve))
    const closer = this.pool.subscribeMany(this.relays, since === undefined ? filter : { ...filter, since }, {
      onevent: (event) => onevent(event, ''),
      oneose: () => eosed(),
      onclose: () => eosed(),
      ...(this.signAuth ? { onauth: this.signAuth } : {})
    })
    return { ready, close: () => closer.close() }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.wakeups.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      timer.unref()
      this.wakeups.add(wake)
    })
  }
}

/** Resolves when the relay's connection closes (the pool's own onclose still runs first). */
function closedOf(relay: AbstractRelay): Promise<void> {
  return new Promise((resolve) => {
    const previous = relay.onclose
    relay.onclose = () => {
      previous?.()
      resolve()
    }
  })
}

/**
 * nostr-tools answers a relay's AUTH challenge without handling a refusal of it: a relay that says
 * no (or never answers) would raise an unhandled rejection and end the process. Every relay's
 * `auth` is wrapped so that a refusal is reported instead; the publish or subscription that needed
 * it is then refused `auth-required:` again, and says so.
 */
class AuthingPool extends SimplePool {
  constructor(
    opts: ConstructorParameters<typeof SimplePool>[0],
    sign: AuthSigner | null,
    onAuthRefused: (url: string, err: Error) => void
  ) {
    super(opts)
    if (!sign) return
    // Called by ensureRelay for a new relay before it connects: a challenge may come in the same
    // packet as the handshake, so the guard must be in place by then.
    this.automaticallyAuth = (url) => {
      const relay = this.relays.get(url)
      if (relay && !guarded.has(relay)) guardAuth(relay, onAuthRefused)
      return sign
    }
  }
}

const guarded = new WeakSet<AbstractRelay>()

function guardAuth(relay: AbstractRelay, onAuthRefused: (url: string, err: Error) => void): void {
  guarded.add(relay)
  const auth = relay.auth.bind(relay)
  relay.auth = (sign) =>
    auth(sign).catch((err: unknown) => {
      // A relay that went away meanwhile: nostr-tools' own retry would subscribe on the closed
      // socket (an unhandled rejection); this error type is the one it already expects there.
      if (!relay.connected)
        throw new SendingOnClosedConnection('the relay closed during NIP-42 authentication', relay.url)
      onAuthRefused(relay.url, err instanceof Error ? err : new Error(String(err)))
      return ''
    })
}

function outcomeOf(relay: string, attempt: Promise<string>, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ relay, ok: false, reason: 'no answer in time' }), timeoutMs)
    timer.unref()
  })
  const answered = attempt.then(
    (): Outcome => ({ relay, ok: true, reason: '' }),
    (err: unknown): Outcome => ({ relay, ok: false, reason: err instanceof Error ? err.message : String(err) })
  )
  return Promise.race([answered, timedOut]).finally(() => clearTimeout(timer))
}

function publishedOf(event: Event, outcomes: Outcome[]): Published {
  return {
    event,
    accepted: outcomes.filter((o) => o.ok).map((o) => o.relay),
    refused: outcomes.filter((o) => !o.ok).map(({ relay, reason }) => ({ relay, reason }))
  }
}

/** The bits a `pow:` refusal names as needed: the largest "N bits" in it (the bits found are fewer). */
function bitsNamedIn(reason: string): number {
  let bits = 0
  for (const m of reason.slice(0, 500).matchAll(/(\d{1,3})\s*bits?\b/gi)) bits = Math.max(bits, Number(m[1]))
  return Math.min(bits, MAX_POW_BITS)
}

function isSigned(input: EventTemplate | Event): input is Event {
  return typeof (input as Event).sig === 'string' && typeof (input as Event).id === 'string'
}

/** A peer's text (a URL, a refusal) bounded and without control characters, for a log line. */
function printable(text: string): string {
  return printableText(text, 200)
}
