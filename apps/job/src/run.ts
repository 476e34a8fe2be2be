// One job, bought (SPEC §10.4): follow the answers to our request, choose an offer, check it, pay
// it once, wait for the result. The answers come from strangers, so each one is parsed with every
// check of @2020117/jobs before it can move anything, and the run's state changes in one place.
//
// Invariants:
// - Every event, timer and signal is handled in one serial queue: a payment in flight finishes
//   (paid, failed or pending) before anything else is looked at, so no two payments ever overlap
//   and an interrupt during a payment never cancels a request that was paid.
// - One provider, once: from the moment a payment hash is claimed (on disk, before the wallet is
//   asked) or a provider delivered, that provider is `chosen`, and every other offer and result is
//   ignored. A hash that was claimed is never paid again, whatever the wallet answered.
// - What the summary says was paid is what the wallet confirmed: the invoice amount plus the fee
//   it reported. A payment the wallet neither confirmed nor denied is `msatPending`, never paid twice.
// - Reputation only narrows (choose.ts): each provider is rated once, within a bound, the offering
//   ones together in one read when the window closes (the first from its offer, --provider from the
//   start), so that a flood of keys costs one read, not one each, and cannot crowd out an honest
//   offer; an offer it refuses is never paid, and an invoice is checked for expiry just before it
//   is paid, after any wait for a rating.

import { peerText, type Logger } from '@2020117/cli'
import {
  buildCancellation,
  isJobError,
  parseFeedback,
  parseResult,
  type Feedback,
  type RequestRef,
  type Result
} from '@2020117/jobs'
import { npubOf, type Published, type RelayPool } from '@2020117/nostr'
import { jobResultKind, kinds as KIND } from '@2020117/protocol'
import type { Rater, Reputation } from '@2020117/reputation'
import { WalletError, type NwcWallet, type PaidInvoice } from '@2020117/wallet'
import { finalizeEvent, type Event } from 'nostr-tools/pure'
import { decide, describeReputation, rateWithin, type ChoiceTerms, type Considered } from './choose.js'
import { JobRunError } from './errors.js'
import { checkInvoice, EXPIRY_MARGIN_S, refusalCode, type ApprovedInvoice, type InvoiceTerms } from './offers.js'
import type { PostedRequests } from './paid.js'

export interface JobRunOptions {
  request: Event
  ref: RequestRef
  secretKey: Uint8Array
  pool: RelayPool
  wallet: NwcWallet
  terms: Omit<InvoiceTerms, 'payees'>
  /** The requests this identity posted: the run's request is claimed there before it is followed. */
  posted: Pick<PostedRequests, 'claim'>
  /** Only this provider's offers and results count (hex), or null for the best of any. */
  provider: string | null
  /** How long to collect offers after the first acceptable one before choosing. */
  offerWaitMs: number
  /** Rates providers (one reader, the customer's view); each rating is cut off after `ratingWaitMs`. */
  rater: Rater
  ratingWaitMs: number
  choice: ChoiceTerms
  /** When the whole run gives up (ms since the epoch). */
  deadline: number
  /** Fetches and hash-checks a result's blob (throws if it does not check out): pay-after pays only for a checked one. */
  fetchBlob: (result: Result, timeoutMs: number) => Promise<Uint8Array>
  log: Logger
}

export type JobStatus =
  | 'delivered'
  | 'no_offer'
  | 'no_result'
  | 'offer_refused'
  | 'cancelled'
  | 'provider_failed'
  | 'payment_failed'
  | 'not_published'
  | 'internal_error'

export interface Outcome {
  status: JobStatus
  result: Result | null
  error: Error | null
  /** A pay-after result's blob, fetched and checked before it was paid. */
  blob: Uint8Array | null
}

/** What the run did, for the summary: every msat in it is one the wallet reported. */
export interface Accounts {
  provider: string | null
  msatPaid: number
  feesMsat: number
  msatPending: number
  firstOfferMs: number | null
  paymentMs: number | null
  resultMs: number | null
  /** The last refused offer: its reason code and why. */
  refused: { provider: string; reason: string; message: string } | null
  /** Every offer the choice weighed, with its provider's score. */
  considered: Considered[]
  /** The reputation of the provider dealt with (null: none read, or none dealt with). */
  reputation: Reputation | null
}

/** What a review's proof of payment is made of (SPEC §11.3): the invoice paid and the preimage the wallet returned. */
export interface PaymentProof {
  bolt11: string
  preimage: string
}

const SEEN_MAX = 4096
/** Times a request this identity already posted is made again (a second later each) before the run gives up. */
const REMAKES_MAX = 5
/** Events waiting in the queue (behind a payment, say): past this, more are dropped as they come. */
const PENDING_MAX = 256
/** Providers whose offers are weighed in one run: offers from more are dropped (they are rated in batches). */
const OFFERS_MAX = PENDING_MAX

export class JobRun {
  readonly accounts: Accounts = {
    provider: null,
    msatPaid: 0,
    feesMsat: 0,
    msatPending: 0,
    firstOfferMs: null,
    paymentMs: null,
    resultMs: null,
    refused: null,
    considered: [],
    reputation: null
  }
  /** Set once a payment is confirmed. */
  proof: PaymentProof | null = null
  private readonly o: JobRunOptions
  private readonly terms: InvoiceTerms
  private readonly startedAt = Date.now()
  private queue: Promise<void> = Promise.resolve()
  private readonly seen = new Set<string>()
  private pending = 0
  /** The first acceptable offer of each provider, until the offer window closes. */
  private readonly offers = new Map<string, ApprovedInvoice>()
  /** Each provider's rating, started once (in a batch); settled values in `reputations` (rated ones only). */
  private readonly ratings = new Map<string, Promise<Reputation | null>>()
  /** The providers whose offer was kept this run, at most OFFERS_MAX. */
  private readonly weighed = new Set<string>()
  private readonly reputations = new Map<string, Reputation | null>()
  /** Providers whose offer reputation refused: their later offers are ignored. */
  private readonly shunned = new Set<string>()
  private windowTimer: NodeJS.Timeout | null = null
  private deadlineTimer: NodeJS.Timeout | null = null
  private chosen: string | null = null
  private paid = false
  /** A pay_invoice (or its lookups) is under way: an interrupt waits for it. */
  private paying = false
  /** Ends the fetch of a pay-after blob at once: nothing is paid yet, so an interrupt need not wait. */
  private stopFetch: (() => void) | null = null
  /** Ctrl-C came: nothing more is paid; a wait for ratings ends at once (the queued interrupt cancels). */
  private interrupted = false
  private markInterrupted!: () => void
  private readonly interruption = new Promise<void>((resolve) => (this.markInterrupted = resolve))
  private overBid = 0
  private droppedOffers = 0
  private outcome: Outcome | null = null
  private resolveEnded!: (outcome: Outcome) => void
  private readonly endedPromise = new Promise<Outcome>((resolve) => (this.resolveEnded = resolve))
  private subscription: { close(): void } | null = null
  private markPublished!: () => void
  private readonly published = new Promise<void>((resolve) => (this.markPublished = resolve))

  constructor(opts: JobRunOptions) {
    this.o = opts
    this.terms = { ...opts.terms, payees: new Map() }
  }

  /**
   * Mines the request to the relays' stated price (its id is then final), subscribes to the answers
   * (before the request is out, so none is missed), then publishes it. A relay that wanted more
   * work gets a request mined again, with a new id: the answers are followed on that one.
   */
  async start(): Promise<number> {
    const { pool } = this.o
    let published: Published
    // Nothing is weighed before the request is out, and with the id it went out with: an answer to
    // an id a relay then refused (and a retry replaced) must never be offered, let alone paid.
    this.enqueue(() => this.published)
    try {
      this.adopt(await this.unposted(await pool.minedFor(this.o.request)))
      await this.follow()
      published = await pool.publishWithPow(this.o.request, { stableId: true })
    } catch (err) {
      this.markPublished()
      // Mining that took too long (POW_TOO_SLOW) or was refused again (POW_REFUSED): its message says what to do.
      this.finish('not_published', JobRunError.NOT_PUBLISHED(pool.relays, (err as Error).message))
      return 0
    }
    if (published.event.id !== this.o.ref.id) {
      this.adopt(published.event)
      await this.follow()
    }
    this.markPublished()
    if (published.accepted.length === 0) {
      this.finish('not_published', JobRunError.NOT_PUBLISHED(pool.relays))
      return 0
    }
    this.deadlineTimer = setTimeout(
      () => this.enqueue(() => this.onDeadline()),
      Math.max(0, this.o.deadline - Date.now())
    )
    return published.accepted.length
  }

  /**
   * The request claimed as posted by this identity. The same job posted within the same second is
   * the same event, so one already posted is signed again once the clock has moved past it (and
   * mined again if it must be): following the old id would take another run's answers for ours.
   */
  private async unposted(request: Event): Promise<Event> {
    const { kind, tags, content } = this.o.request
    const expiration = Number(tags.find((t) => t[0] === 'expiration')?.[1])
    const keepUntil = Number.isSafeInteger(expiration) ? expiration : Math.ceil(this.o.deadline / 1000)
    for (let made = 1; !(await this.o.posted.claim(request.id, keepUntil)); made++) {
      if (made > REMAKES_MAX) throw new Error(`this identity had already posted each of ${made} makes of the request`)
      await secondAfter(request.created_at)
      const created_at = Math.floor(Date.now() / 1000)
      request = await this.o.pool.minedFor(finalizeEvent({ kind, tags, content, created_at }, this.o.secretKey))
    }
    return request
  }

  /** The request as it goes out (mined: a new id) is the one every answer and payment must name. */
  private adopt(request: Event): void {
    this.o.request = request
    this.o.ref = { ...this.o.ref, id: request.id }
    if (this.terms.provable) this.terms.provable = { ...this.terms.provable, requestId: request.id }
  }

  /** (Re)subscribes to the answers to the request's current id, and waits for what relays hold. */
  private async follow(): Promise<void> {
    const { ref, pool } = this.o
    this.subscription?.close()
    const sub = pool.subscribe({ kinds: [KIND.JobFeedback, jobResultKind(ref.kind)], '#e': [ref.id] }, (event) =>
      this.admit(event)
    )
    this.subscription = sub
    // --provider is known before it offers: its rating can be under way before its offer comes.
    if (this.o.provider !== null && this.ratings.size === 0) this.rateBatch([this.o.provider])
    await sub.ready
  }

  get requestId(): string {
    return this.o.ref.id
  }

  ended(): Promise<Outcome> {
    return this.endedPromise
  }

  /** Ctrl-C / SIGTERM: cancel the request if nothing was paid; after a payment, stop waiting. */
  interrupt(): void {
    // Said at once: the person who pressed Ctrl-C must know why the run goes on (and not press again).
    if (this.paying)
      this.o.log.warn('interrupted while a payment is under way: the run ends once the wallet settles it or --timeout')
    this.stopFetch?.()
    this.interrupted = true
    this.markInterrupted()
    this.enqueue(async () => {
      if (this.paid) return this.finish('no_result', JobRunError.NO_RESULT('the run was interrupted'))
      // A deletion must not overtake the request it deletes: some relays would then keep the request.
      await this.published
      const taken = await this.cancel()
      this.o.log.info(`cancelled request ${this.o.ref.id.slice(0, 12)}… (kind 5 taken by ${taken} relay(s))`)
      this.finish('cancelled', JobRunError.CANCELLED(taken))
    })
  }

  /** A kind 5 for the request, with the proof of work relays ask of deletions (20 bits by default). */
  private async cancel(): Promise<number> {
    const cancellation = buildCancellation(this.o.request, this.o.secretKey)
    try {
      return (await this.o.pool.publishWithPow(cancellation)).accepted.length
    } catch (err) {
      this.o.log.warn(`the cancellation was not published: ${(err as Error).message}`)
      return 0
    }
  }

  /** Stops timers and the subscription (the summary is made from `accounts`). */
  close(): void {
    if (this.windowTimer) clearTimeout(this.windowTimer)
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer)
    this.subscription?.close()
  }

  private enqueue(step: () => Promise<void> | void): void {
    this.queue = this.queue
      .then(() => (this.outcome ? undefined : step()))
      .catch((err: Error) => this.finish('internal_error', err))
  }

  /**
   * An event at the door: one that could never count (not --provider's, or not the chosen one's;
   * both only narrow) is dropped before it is queued, and the queue is bounded, so that a flood
   * while a payment holds the queue cannot grow memory without bound.
   */
  private admit(event: Event): void {
    if (this.outcome) return
    const pubkey = typeof event.pubkey === 'string' ? event.pubkey : ''
    if (!this.counts(pubkey)) {
      const what = event.kind === KIND.JobFeedback ? 'feedback' : 'a result'
      return this.o.log.debug(`ignored ${what} from ${npubOf(pubkey)}: not the provider we deal with`)
    }
    if (this.pending >= PENDING_MAX) return this.o.log.debug(`dropped an event: ${PENDING_MAX} already wait`)
    this.pending++
    this.enqueue(() => {
      this.pending--
      return this.onEvent(event)
    })
  }

  private finish(
    status: JobStatus,
    error: Error | null,
    result: Result | null = null,
    blob: Uint8Array | null = null
  ): void {
    if (this.outcome) return
    this.outcome = { status, result, error, blob }
    this.close()
    this.resolveEnded(this.outcome)
  }

  private since(): number {
    return Date.now() - this.startedAt
  }

  private async onEvent(event: Event): Promise<void> {
    if (this.seen.has(event.id)) return
    this.seen.add(event.id)
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value as string)
    const { ref, secretKey, log } = this.o
    let answer: { feedback: Feedback } | { result: Result }
    try {
      answer =
        event.kind === KIND.JobFeedback
          ? { feedback: parseFeedback(event, ref, secretKey) }
          : { result: parseResult(event, ref, secretKey) }
    } catch (err) {
      // A stranger's event that does not parse is ignored, whatever threw: it can never end the run.
      const why = isJobError(err) ? err.message : `unreadable (${(err as Error).message})`
      return log.debug(`ignored an event from ${npubOf(event.pubkey)}: ${peerText(why, 200)}`)
    }
    if ('feedback' in answer) return this.onFeedback(answer.feedback)
    return this.onResult(answer.result)
  }

  /** Whether an answer from `provider` counts: --provider's only, and once chosen, the chosen one's only. */
  private counts(provider: string): boolean {
    if (this.o.provider !== null && provider !== this.o.provider) return false
    return this.chosen === null || this.chosen === provider
  }

  private async onFeedback(f: Feedback): Promise<void> {
    const who = npubOf(f.provider)
    if (!this.counts(f.provider)) return this.o.log.debug(`ignored feedback from ${who}: not the provider we deal with`)
    const text = peerText(f.text, 300)
    if (f.status === 'payment-required') return this.onOffer(f)
    if (f.status === 'error') return this.onProviderError(f.provider, text)
    this.o.log.info(`${who}: ${f.status ?? peerText(f.rawStatus, 32)}${text ? ` (${text})` : ''}`)
  }

  private onProviderError(provider: string, text: string): void {
    const who = npubOf(provider)
    if (this.chosen === provider || this.o.provider === provider) {
      // --provider's BID_TOO_LOW is its answer to the price: no offer within the bid will come.
      if (!this.paid && text.startsWith('BID_TOO_LOW'))
        return this.finish('no_offer', JobRunError.NO_OFFER(this.waitedS(), 1))
      return this.finish('provider_failed', JobRunError.PROVIDER_FAILED(text))
    }
    this.o.log.info(`${who} declined: ${text || '(no reason given)'}`)
  }

  private async onOffer(f: Feedback): Promise<void> {
    const who = npubOf(f.provider)
    if (this.chosen !== null) return this.o.log.info(`ignored another invoice from ${who}: already paid once`)
    if (this.offers.has(f.provider)) return this.o.log.info(`ignored a second invoice from ${who}`)
    if (!this.mayWeigh(f.provider)) return
    let offer: ApprovedInvoice
    try {
      offer = checkInvoice(f.provider, f.amountMsat, f.bolt11, this.terms)
    } catch (err) {
      return this.refuse(f.provider, err)
    }
    this.offers.set(f.provider, offer)
    this.weighed.add(f.provider)
    this.accounts.firstOfferMs ??= this.since()
    this.o.log.info(`offer from ${who}: ${offer.amountMsat} msat; rating its provider…`)
    if (this.windowTimer !== null) return
    // The window opens: its first provider is rated at once, the others together when it closes.
    this.rateBatch([f.provider])
    const wait = this.o.provider !== null ? 0 : this.o.offerWaitMs
    if (wait === 0) return this.choose()
    this.windowTimer = setTimeout(() => this.enqueue(() => this.choose()), wait)
  }

  /** A refused offer: the end when it was --provider's, else noted while others may still come. */
  private refuse(provider: string, err: unknown): void {
    const reason = refusalCode(err)
    if (reason === null) throw err
    const message = (err as Error).message
    this.o.log.warn(`refused an invoice from ${npubOf(provider)} (${reason}): ${peerText(message, 300)}`)
    if (reason === 'JOB_OVER_BID') {
      this.overBid++
      if (this.o.provider !== null) this.finish('no_offer', JobRunError.NO_OFFER(this.waitedS(), this.overBid))
      return
    }
    this.accounts.refused = { provider, reason, message }
    if (this.o.provider !== null) this.finish('offer_refused', JobRunError.OFFER_REFUSED(reason, message))
  }

  /** Whether an invoice of `provider` may be weighed: not one reputation refused, not past the bound of providers. */
  private mayWeigh(provider: string): boolean {
    const who = npubOf(provider)
    if (this.shunned.has(provider)) {
      this.o.log.info(`ignored an invoice from ${who}: refused already`)
      return false
    }
    if (!this.weighed.has(provider) && this.weighed.size >= OFFERS_MAX) {
      // Said once: a flood past the bound must not flood the log as well.
      const line = `dropped an invoice from ${who}: ${OFFERS_MAX} providers offered already`
      if (this.droppedOffers++ === 0) this.o.log.warn(line)
      else this.o.log.debug(line)
      return false
    }
    return true
  }

  /** Rates, in one read bounded by `ratingWaitMs`, each of `providers` that is not rated or being rated yet. */
  private rateBatch(providers: readonly string[]): void {
    const fresh = [...new Set(providers)].filter((p) => !this.ratings.has(p))
    if (fresh.length === 0) return
    const warn = (message: string) => this.o.log.warn(peerText(message, 300))
    const batch = rateWithin(this.o.rater, fresh, this.o.ratingWaitMs, warn)
    for (const p of fresh) {
      const rating = batch.then((rated) => {
        // Unrated (no answer in time): absent from `reputations`, which ranks it after every rated one.
        if (rated) this.reputations.set(p, rated.get(p) ?? null)
        return this.reputations.get(p) ?? null
      })
      this.ratings.set(p, rating)
    }
  }

  /** The provider's rating, started alone when no batch has it yet. */
  private rate(provider: string): Promise<Reputation | null> {
    this.rateBatch([provider])
    return this.ratings.get(provider)!
  }

  /**
   * The offer window closed (or --provider's offer came): once the offers' ratings are in, those
   * reputation refuses are refused, and the rest are tried best first (price against score).
   */
  private async choose(): Promise<void> {
    this.windowTimer = null
    const offers = [...this.offers.values()]
    this.offers.clear()
    this.rateBatch(offers.map((o) => o.provider))
    const rated = await this.ratingsOf(offers.map((o) => o.provider))
    if (rated === null) return
    for (const o of offers)
      this.o.log.info(
        `offer from ${npubOf(o.provider)}: ${o.amountMsat} msat, ${describeReputation(rated.get(o.provider))}`
      )
    const order = this.weigh(offers, rated)
    for (const offer of order) {
      if (this.outcome || this.chosen !== null) return
      await this.pay(offer)
    }
  }

  /**
   * The rated ones of `providers` (each rating within its bound; an unrated one is absent), or null
   * when Ctrl-C came meanwhile: then nothing is paid.
   */
  private async ratingsOf(providers: string[]): Promise<Map<string, Reputation | null> | null> {
    const rated = Promise.all(providers.map((p) => this.rate(p)))
    if ((await Promise.race([rated, this.interruption.then(() => null)])) === null) return null
    return new Map(providers.filter((p) => this.reputations.has(p)).map((p) => [p, this.reputations.get(p)!]))
  }

  /** The offers reputation lets through, best first; the others are refused (and their providers not heard again). */
  private weigh(offers: ApprovedInvoice[], rated: Map<string, Reputation | null>): ApprovedInvoice[] {
    const decision = decide(offers, rated, this.o.choice)
    this.accounts.considered.push(...decision.considered)
    for (const { offer, error } of decision.refusals) {
      if (this.outcome) return []
      this.shunned.add(offer.provider)
      this.refuse(offer.provider, error)
    }
    return decision.order
  }

  /** Pays once: the hash claimed on disk first; a payment whose answer is lost is settled by lookup, never sent again. */
  private async pay(offer: ApprovedInvoice): Promise<void> {
    const { wallet, log, deadline } = this.o
    if (this.interrupted) return // the queued interrupt cancels the request
    // Time has passed since the invoice was checked (the offer window, a rating): it must still be good.
    if (offer.invoice.expiresAt - EXPIRY_MARGIN_S <= Math.floor(Date.now() / 1000))
      return this.refuse(offer.provider, WalletError.INVOICE_EXPIRED(offer.invoice.expiresAt))
    const hash = offer.invoice.paymentHash
    if (!(await this.o.terms.paid.claim(hash, offer.invoice.expiresAt)))
      return this.refuse(offer.provider, WalletError.INVOICE_HASH_REUSED(hash))
    this.chosen = offer.provider
    this.accounts.provider = offer.provider
    this.accounts.reputation = this.reputations.get(offer.provider) ?? null
    if (!this.reputations.has(offer.provider))
      log.warn(`paying ${npubOf(offer.provider)}, unrated: no rated provider's offer qualified`)
    log.info(`paying ${offer.amountMsat} msat to ${npubOf(offer.provider)}…`)
    let paid: PaidInvoice | null
    this.paying = true
    try {
      paid = await wallet.pay(offer.bolt11, hash, { until: deadline })
    } catch (err) {
      if (!(err instanceof WalletError)) throw err
      if (err.code !== 'PAYMENT_PENDING') return this.finish('payment_failed', JobRunError.PAYMENT_FAILED(err.message))
      paid = await this.settle(hash, err)
      if (!paid) {
        this.accounts.msatPending = offer.amountMsat
        return this.finish('payment_failed', JobRunError.PAYMENT_FAILED(err.message))
      }
    } finally {
      this.paying = false
    }
    this.paid = true
    this.proof = { bolt11: offer.bolt11, preimage: paid.preimage }
    this.accounts.msatPaid = offer.amountMsat + paid.feesMsat
    this.accounts.feesMsat = paid.feesMsat
    this.accounts.paymentMs = this.since()
    if (paid.feesMsat > this.o.terms.maxFeeMsat)
      log.warn(`the wallet charged a ${paid.feesMsat} msat fee, above --max-fee (${this.o.terms.maxFeeMsat} msat)`)
    log.info(`paid ${offer.amountMsat} msat (fee ${paid.feesMsat} msat); waiting for the result`)
  }

  /** A payment `pay` gave up on as pending: looked up (never paid again) until the deadline. */
  private async settle(hash: string, pending: WalletError): Promise<PaidInvoice | null> {
    this.o.log.warn(`${pending.message}; looking it up until the timeout`)
    try {
      return await this.o.wallet.settle(hash, { until: this.o.deadline })
    } catch (err) {
      if (err instanceof WalletError) return null
      throw err
    }
  }

  private async onResult(r: Result): Promise<void> {
    const who = npubOf(r.provider)
    if (!this.counts(r.provider)) return this.o.log.debug(`ignored a result from ${who}: not the provider we deal with`)
    let blob: Uint8Array | null = null
    if (this.chosen === null && r.bolt11) {
      // Pay after: the result names its price. It is paid (once, with every check) before it counts.
      if (!this.mayWeigh(r.provider)) return
      let offer: ApprovedInvoice
      try {
        offer = checkInvoice(r.provider, r.amountMsat, r.bolt11, this.terms)
      } catch (err) {
        return this.refuse(r.provider, err)
      }
      this.weighed.add(r.provider)
      const rated = await this.ratingsOf([r.provider])
      if (rated === null) return
      this.o.log.info(
        `pay-after result from ${who}: ${offer.amountMsat} msat, ${describeReputation(rated.get(r.provider))}`
      )
      if (this.weigh([offer], rated).length === 0) return
      const checked = await this.checkBlob(r, offer)
      if (!checked) return
      blob = checked.bytes
      await this.pay(offer)
      if (!this.paid) return
    } else if (this.chosen === null) {
      if (r.amountMsat) this.o.log.warn(`${who} asks ${r.amountMsat} msat without an invoice: not paid`)
      this.chosen = r.provider
      this.accounts.provider = r.provider
      // Nothing is paid, so nothing is refused; the summary still says who this was.
      this.accounts.reputation = await this.rate(r.provider)
    } else if (!this.paid) return // a payment that did not go through: this result does not count
    this.accounts.resultMs = this.since()
    this.finish('delivered', null, r, blob)
  }

  /**
   * Pay after is the provider's risk, never our money (SPEC §10.3): a result that is a link is
   * fetched and its sha256 checked before its invoice is paid. Null when it was refused.
   */
  private async checkBlob(r: Result, offer: ApprovedInvoice): Promise<{ bytes: Uint8Array | null } | null> {
    if (!r.blob) return { bytes: null }
    let bytes: Uint8Array
    let stopped = false
    const interrupted = new Promise<never>((_, reject) => {
      this.stopFetch = () => {
        stopped = true
        reject(new Error('interrupted'))
      }
    })
    try {
      bytes = await Promise.race([this.o.fetchBlob(r, Math.max(1000, this.o.deadline - Date.now())), interrupted])
    } catch (err) {
      // Interrupted: the queued interrupt cancels the request; this result is neither paid nor refused.
      if (!stopped) this.refuse(r.provider, JobRunError.JOB_BLOB_UNVERIFIED(peerText((err as Error).message, 300)))
      return null
    } finally {
      this.stopFetch = null
    }
    // The fetch took time: the invoice must still be good to pay.
    if (offer.invoice.expiresAt - EXPIRY_MARGIN_S <= Math.floor(Date.now() / 1000)) {
      this.refuse(r.provider, WalletError.INVOICE_EXPIRED(offer.invoice.expiresAt))
      return null
    }
    return { bytes }
  }

  private onDeadline(): void {
    if (this.paid) return this.finish('no_result', JobRunError.NO_RESULT(`none came in ${this.waitedS()} s`))
    const refused = this.accounts.refused
    if (refused) return this.finish('offer_refused', JobRunError.OFFER_REFUSED(refused.reason, refused.message))
    this.finish('no_offer', JobRunError.NO_OFFER(this.waitedS(), this.overBid))
  }

  private waitedS(): number {
    return Math.round(this.since() / 1000)
  }
}

/** Resolves once the clock reads a unix second later than `seconds`. */
function secondAfter(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, (seconds + 1) * 1000 - Date.now())))
}
