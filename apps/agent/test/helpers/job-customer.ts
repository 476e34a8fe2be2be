// A small NIP-90 customer for end-to-end tests of the real 2020117-agent in job mode, written with
// @2020117/jobs on the local network's relay: it signs and publishes requests (plain, p-tagged,
// encrypted, hostile), follows every answer to them, and pays from the devnet wallet's `customer`
// account. Its `answers` are what a test judges, beside the wallet's ledger.

import { generateSecretKey, getPublicKey, finalizeEvent, type Event } from 'nostr-tools/pure'
import {
  buildCancellation,
  buildRequest,
  parseFeedback,
  parseResult,
  type Feedback,
  type RequestOptions,
  type Result
} from '@2020117/jobs'
import { RelayPool } from '@2020117/nostr'
import type { TestNetwork } from '@2020117/testkit'

export interface Posted {
  event: Event
  feedback: Feedback[]
  results: Result[]
  /** Answers that did not parse as answers to this request (there should be none). */
  refused: Event[]
}

export class JobCustomer {
  readonly secretKey: Uint8Array
  readonly pubkey: string
  readonly pool: RelayPool
  private readonly net: TestNetwork
  private readonly posted = new Map<string, Posted>()
  /** The ids of the requests as signed, before mining gave them new ones. */
  private readonly signed = new Set<string>()
  private readonly waiters = new Set<() => void>()
  /** One subscription to every answer addressed to us (a relay bounds subscriptions per connection). */
  private readonly sub: ReturnType<RelayPool['subscribe']>

  constructor(net: TestNetwork, secretKey: Uint8Array = generateSecretKey()) {
    this.net = net
    this.secretKey = secretKey
    this.pubkey = getPublicKey(secretKey)
    // With our key: it authenticates (NIP-42) and mines what the relay prices (a request: 10 bits).
    this.pool = new RelayPool(net.devnet.state.relays, { persistent: true, secretKey })
    const since = Math.floor(Date.now() / 1000) - 5
    this.sub = this.pool.subscribe({ '#p': [this.pubkey] }, (e) => this.route(e), { since: () => since })
  }

  /** Signs and publishes a request; its answers are followed from before it goes out. */
  async post(opts: RequestOptions): Promise<Posted> {
    return this.publish(buildRequest(opts, this.secretKey))
  }

  /**
   * Publishes any signed request (a hostile one too) and follows its answers. One of our key is
   * mined first to the relay's price: `posted.event` is the request as published (its new id).
   */
  async publish(signed: Event): Promise<Posted> {
    // The same request signed twice in one second is the same event (same id): the relay would
    // call it a duplicate and the agent would rightly not answer it again. A test must vary it.
    if (this.signed.has(signed.id)) throw new Error(`request ${signed.id.slice(0, 12)} was already posted`)
    this.signed.add(signed.id)
    const event = signed.pubkey === this.pubkey ? await this.pool.minedFor(signed) : signed
    const posted: Posted = { event, feedback: [], results: [], refused: [] }
    this.posted.set(event.id, posted)
    await this.sub.ready
    const accepted = await this.pool.publish(event)
    if (accepted === 0) throw new Error('the relay refused the request')
    return posted
  }

  /** A request signed and mined to the relay's price, not yet published (for `publish`). */
  async mine(opts: RequestOptions): Promise<Event> {
    return this.pool.minedFor(buildRequest(opts, this.secretKey))
  }

  /**
   * A kind 5 of the request by `secretKey`'s author, mined (20 bits under the default policy: seconds),
   * not yet published: a test that races a payment window mines it before the window opens.
   */
  async deletion(request: Event, secretKey = this.secretKey): Promise<Event> {
    const deletion =
      secretKey === this.secretKey
        ? buildCancellation(request, secretKey)
        : finalizeEvent(
            {
              kind: 5,
              created_at: Math.floor(Date.now() / 1000),
              tags: [
                ['e', request.id],
                ['k', String(request.kind)]
              ],
              content: ''
            },
            secretKey
          )
    return this.withKey(secretKey, (pool) => pool.minedFor(deletion))
  }

  /** Publishes a signed (and mined) event as it is, through a pool of its author's key. */
  async send(event: Event, secretKey = this.secretKey): Promise<void> {
    const took = await this.withKey(secretKey, (pool) => pool.publish(event))
    if (took === 0) throw new Error(`the relay refused the kind ${event.kind}`)
  }

  async cancel(posted: Posted, secretKey = this.secretKey): Promise<Event> {
    const deletion = await this.deletion(posted.event, secretKey)
    await this.send(deletion, secretKey)
    return deletion
  }

  private async withKey<T>(secretKey: Uint8Array, use: (pool: RelayPool) => Promise<T>): Promise<T> {
    const pool = new RelayPool(this.net.devnet.state.relays, { secretKey })
    try {
      return await use(pool)
    } finally {
      pool.close()
    }
  }

  /** Resolves once `test` holds (checked on every answer); rejects after `ms`. */
  until(test: () => boolean, what: string, ms = 20_000): Promise<void> {
    if (test()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`timed out waiting for ${what}`))
      }, ms)
      const check = () => {
        if (!test()) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve()
      }
      this.waiters.add(check)
    })
  }

  async status(posted: Posted, status: string): Promise<Feedback> {
    await this.until(() => posted.feedback.some((f) => f.status === status), `a ${status} feedback`)
    return posted.feedback.find((f) => f.status === status)!
  }

  async result(posted: Posted): Promise<Result> {
    await this.until(() => posted.results.length > 0, 'a result')
    return posted.results[0]!
  }

  /** Pays a payment-required invoice from the devnet wallet's customer account. */
  async pay(feedback: Feedback): Promise<void> {
    if (!feedback.bolt11) throw new Error('the feedback carries no bolt11')
    await this.net.devnet.wallet.payInvoice('customer', feedback.bolt11)
  }

  close(): void {
    this.sub.close()
    this.pool.close()
  }

  private route(event: Event): void {
    const ids = event.tags.filter((t) => t[0] === 'e').map((t) => t[1])
    for (const id of new Set(ids)) {
      const posted = this.posted.get(id as string)
      if (posted && (event.kind === 7000 || event.kind === posted.event.kind + 1000)) this.onAnswer(posted, event)
    }
  }

  private onAnswer(posted: Posted, event: Event): void {
    if ([...posted.feedback.map((f) => f.event.id), ...posted.results.map((r) => r.event.id)].includes(event.id)) return
    const ref = {
      id: posted.event.id,
      kind: posted.event.kind,
      customer: this.pubkey,
      encryption: encryptionOf(posted.event)
    }
    try {
      if (event.kind === 7000) posted.feedback.push(parseFeedback(event, ref, this.secretKey))
      else posted.results.push(parseResult(event, ref, this.secretKey))
    } catch {
      posted.refused.push(event)
    }
    for (const wake of [...this.waiters]) wake()
  }
}

function encryptionOf(event: Event): 'nip44' | 'nip04' | null {
  if (!event.tags.some((t) => t[0] === 'encrypted')) return null
  return /\?iv=/.test(event.content) ? 'nip04' : 'nip44'
}
