// Job mode (SPEC §10.3): the provider's subscription to requests of its kinds and to their
// cancellations on its relays, and the jobs in flight. It survives relay restarts (the pool
// reopens both subscriptions from the cursor) and its own (the journal resumes what was in
// flight; the handled record keeps the rest from being handled again).
//
// Invariants:
// - A request is handled at most once: the same event from several relays, a replay after a relay
//   restart or after our own restart, all end at `known()` or at the in-memory `seen` set.
// - At most `maxJobs` jobs are in flight, unpaid ones included (so a flood of requests that never
//   pay holds at most that many slots for at most --job-payment-seconds each), and invoices and
//   refusals are each rate-bounded: a flood costs a bounded number of wallet calls and events.
// - Only a deletion signed by the request's author cancels it (cancelledIds + author check).
// - A request that asks for more validated zaps than ours (min_zap_sats, SPEC §11.6) or comes from
//   a customer we reported (--ignore-reported) gets no answer at all, not even a refusal.
// - Nothing a peer sends throws out of a listener: a failure ends that job, not the agent.
// - A relay may drop a live event (public relays do; a connection can also be dead for the ~50 s
//   a ping takes to notice): every SWEEP_MS the service asks its relays again for requests since
//   the cursor and for deletions of its jobs in flight, so a missed request is taken late, not never.

import { cancelledIds, type JobRequest, parseRequest } from '@2020117/jobs'
import { buildFeedback } from '@2020117/jobs'
import { kinds as KIND } from '@2020117/protocol'
import { RelayPool } from '@2020117/nostr'
import type { Event } from 'nostr-tools/pure'
import { decide, type IntakeTerms } from './intake.js'
import { JobFailure } from './errors.js'
import { Job, type JobContext } from './job.js'
import { Recent, RateWindow } from './bounded.js'
import type { ReportedCustomers } from './reported.js'
import { minZapSatsOf, type ZapTotal } from './zap-total.js'

/** How often the relays are asked again for what a live subscription may have missed. */
export const SWEEP_MS = 15_000

export interface JobServiceOptions extends Omit<JobContext, 'hashInUse' | 'publish' | 'release'> {
  kinds: number[]
  terms: IntakeTerms
  payAfter: boolean
  maxJobs: number
  /** SWEEP_MS unless a test says otherwise. */
  sweepMs?: number
  /** Our validated zap total, for requests with min_zap_sats (SPEC §11.6). */
  zapTotal: Pick<ZapTotal, 'sats'>
  /** --ignore-reported: the customers we reported, whose requests get no answer; null: serve everyone. */
  reported: Pick<ReportedCustomers, 'has'> | null
}

/** What the jobs did since the start, for the agent's summary. */
export interface JobTally {
  delivered: number
  refused: number
  /** Ended with an error feedback (a cancellation is not a failure). */
  failed: number
  cancelled: number
  /**
   * Payments verified (pay first) since the start: a job that failed after its payment counts, a
   * job resumed already paid does not (its payment was counted by the run that took it), and a
   * pay-after invoice does not (the agent does not watch it).
   */
  msatEarned: number
}

export class JobService {
  private readonly opts: JobServiceOptions
  private readonly ctx: JobContext
  private readonly jobs = new Map<string, Job>()
  private readonly running = new Set<Promise<void>>()
  private readonly seen = new Recent<string>(4096)
  /**
   * Deletions that came before (or without) their request, as `request id:author`: a stranger's
   * deletion of the same id is kept beside the author's, never over it.
   */
  private readonly deleted = new Recent(4096)
  private readonly refusals = new RateWindow(20, 10_000)
  private readonly invoices = new RateWindow(40, 10_000)
  private readonly stopping = new AbortController()
  /** The relays a request names that are not ours: authenticated with our key too (NIP-42). */
  private readonly foreign: RelayPool
  private subs: Array<ReturnType<RelayPool['subscribe']>> = []
  private timer: NodeJS.Timeout | null = null
  private readonly counts: JobTally = { delivered: 0, refused: 0, failed: 0, cancelled: 0, msatEarned: 0 }

  constructor(opts: JobServiceOptions) {
    // Relays a request names are strangers': answers are free on the network's relays (SPEC §12.2),
    // and one that prices them would have the agent burn a core per answer, holding a job slot.
    this.foreign = new RelayPool([], { secretKey: opts.secretKey, log: opts.log, maxPowBits: 0 })
    // Every job event passes here on its way out: the tally is what was said, not a second account.
    this.opts = { ...opts, emit: (event) => (this.count(event), opts.emit(event)) }
    this.ctx = {
      ...this.opts,
      publish: (event, relays) => this.publish(event, relays),
      release: (id) => void this.jobs.delete(id),
      hashInUse: (hash, except) =>
        [...this.jobs.values()].some((j) => j.id !== except && j.entry.invoice?.paymentHash === hash)
    }
  }

  get inFlight(): number {
    return this.jobs.size
  }

  get tally(): JobTally {
    return { ...this.counts }
  }

  private count(event: Record<string, unknown>): void {
    const c = this.counts
    if (event.event === 'job_delivered') c.delivered++
    else if (event.event === 'job_refused') c.refused++
    else if (event.event === 'job_failed') event.reason === 'CANCELLED' ? c.cancelled++ : c.failed++
    else if (event.event === 'job_paid') c.msatEarned += Number(event.amountMsat) || 0
  }

  /** Resumes the journal's jobs, then subscribes; resolves once every relay was dialled and sent what it holds. */
  async start(): Promise<void> {
    this.resume()
    const { pool, store, kinds } = this.opts
    const since = () => store.since()
    this.subs = [
      pool.subscribe({ kinds }, (e, relay) => this.onRequest(e, relay), { since }),
      pool.subscribe({ kinds: [KIND.Deletion], '#k': kinds.map(String) }, (e) => this.onDeletion(e), { since })
    ]
    let sweeping = false
    this.timer = setInterval(() => {
      void store.persist().catch(() => {})
      if (sweeping) return
      sweeping = true
      void this.sweep().finally(() => (sweeping = false))
    }, this.opts.sweepMs ?? SWEEP_MS)
    this.timer.unref()
    await Promise.all(this.subs.map((s) => s.ready))
  }

  /** Stops reading, stops every job where it is (the journal keeps them for the next start), saves the cursor. */
  async stop(): Promise<void> {
    for (const sub of this.subs) sub.close()
    if (this.timer) clearInterval(this.timer)
    this.stopping.abort()
    await Promise.allSettled([...this.running])
    await this.opts.store.close()
    this.foreign.close()
  }

  /** What the live subscriptions may have missed: requests since the cursor, deletions of our jobs. */
  private async sweep(): Promise<void> {
    const { pool, kinds, store, log } = this.opts
    try {
      const inFlight = [...this.jobs.keys()]
      const [requests, deletions] = await Promise.all([
        pool.query({ kinds, since: store.since(), limit: 200 }, 4000),
        inFlight.length ? pool.query({ kinds: [KIND.Deletion], '#e': inFlight, limit: 200 }, 4000) : []
      ])
      for (const event of deletions) this.onDeletion(event)
      for (const event of requests) {
        if (this.seen.has(event.id) || this.stopping.signal.aborted) continue
        log.debug(`request ${event.id.slice(0, 12)} was missed by the live subscription: taking it now`)
        this.onRequest(event, 'sweep')
      }
    } catch (err) {
      log.debug(`asking the relays again failed: ${(err as Error).message}`)
    }
  }

  private resume(): void {
    for (const [id, entry] of this.opts.store.inFlight()) {
      let request: JobRequest
      try {
        request = parseRequest(entry.event, { secretKey: this.opts.secretKey })
      } catch {
        void this.opts.store.remove(id)
        continue
      }
      this.opts.log.info(`resuming job ${id.slice(0, 12)} (${entry.phase.replace('_', ' ')})`)
      this.launch(new Job(this.ctx, request, entry, this.stopping.signal))
    }
  }

  private onRequest(event: Event, relay: string): void {
    this.opts.log.trace(`request ${event.id.slice(0, 12)} from ${relay}`)
    if (this.stopping.signal.aborted || this.seen.has(event.id)) return
    this.seen.add(event.id)
    this.intake(event).catch((err) =>
      this.opts.log.warn(`request ${event.id.slice(0, 12)} could not be taken: ${(err as Error).message}`)
    )
  }

  private async intake(event: Event): Promise<void> {
    const { store, log } = this.opts
    if (store.known(event.id)) return
    const short = event.id.slice(0, 12)
    if (this.opts.reported?.has(event.pubkey))
      return log.debug(`ignoring request ${short}: its author is a customer we reported (--ignore-reported)`)
    const decision = decide(event, this.opts.terms)
    if (decision.act === 'ignore') return log.debug(`ignoring request ${short}: ${decision.why}`)
    const below = await this.belowMinZap(decision.request)
    if (below) return log.debug(`ignoring request ${short}: ${below}`)
    if (this.stopping.signal.aborted) return
    store.saw(event.created_at)
    if (decision.act === 'refuse') return this.refuse(decision.request, decision.failure)
    const { request, priceMsat, addressed } = decision
    if (this.deleted.has(`${request.id}:${request.customer}`))
      return log.debug(`request ${request.id.slice(0, 12)} was cancelled`)
    const charged = priceMsat > 0 && !this.opts.payAfter
    if (this.jobs.size >= this.opts.maxJobs || (charged && !this.invoices.take())) {
      if (addressed) await this.refuse(request, JobFailure.NO_CAPACITY(this.opts.maxJobs))
      return
    }
    await this.accept(request, priceMsat, charged)
  }

  /** Why a request's min_zap_sats is above our validated zap total; null when it is not (or has none). */
  private async belowMinZap(request: JobRequest): Promise<string | null> {
    const min = minZapSatsOf(request)
    if (typeof min !== 'number' || min === 0) return null
    const total = await this.opts.zapTotal.sats()
    return min > total ? `it asks for ${min} sats of zaps (min_zap_sats), we have ${total}` : null
  }

  private async accept(request: JobRequest, priceMsat: number, charged: boolean): Promise<void> {
    const entry = {
      event: request.event,
      phase: charged ? ('awaiting_payment' as const) : ('working' as const),
      priceMsat,
      payAfter: this.opts.payAfter && priceMsat > 0,
      invoice: null
    }
    const job = new Job(this.ctx, request, entry, this.stopping.signal)
    this.jobs.set(request.id, job) // counted before the first await: a burst cannot overfill
    await this.opts.store.put(request.id, entry)
    await this.opts.store.markHandled(request.id)
    this.opts.log.info(
      `job ${request.id.slice(0, 12)} (kind ${request.kind}) from ${request.customer.slice(0, 12)}: accepted at ${priceMsat} msat`
    )
    this.opts.emit({
      event: 'job_accepted',
      requestId: request.id,
      kind: request.kind,
      customer: request.customer,
      priceMsat
    })
    this.launch(job)
  }

  private launch(job: Job): void {
    this.jobs.set(job.id, job)
    const run = job.run().finally(() => {
      this.jobs.delete(job.id)
      this.running.delete(run)
    })
    this.running.add(run)
  }

  /** An `error` feedback to a request addressed to us, at most 20 per 10 s. */
  private async refuse(request: JobRequest, failure: JobFailure): Promise<void> {
    this.opts.emit({ event: 'job_refused', requestId: request.id, reason: failure.reason })
    // Past the rate a refusal is not sent. Refusals are not written to the handled record (only
    // `seen`, in memory): a flood costs no disk write, and after a restart a refusal may be sent
    // once more, which costs nobody anything.
    if (!this.refusals.take()) return
    const feedback = buildFeedback(request, { status: 'error', text: failure.text }, this.opts.secretKey)
    await this.publish(feedback, this.opts.reach.own)
  }

  private onDeletion(event: Event): void {
    if (this.seen.has(event.id)) return
    this.seen.add(event.id)
    let ids: string[]
    try {
      ids = cancelledIds(event)
    } catch {
      return
    }
    for (const id of ids.slice(0, 64)) {
      const job = this.jobs.get(id)
      if (!job) this.deleted.add(`${id}:${event.pubkey}`)
      else if (job.request.customer !== event.pubkey) continue
      else if (job.cancel()) this.opts.log.info(`job ${id.slice(0, 12)} cancelled by its customer`)
      else this.opts.log.info(`job ${id.slice(0, 12)} was cancelled after it was paid: delivering it`)
    }
  }

  /**
   * To our relays through our pool, to a request's own through a pool that does not keep them.
   * Feedback and results are free under the network's policy; a relay that prices them gets them
   * mined (a new id, which nobody tracks: they point at the request).
   */
  private async publish(event: Event, relays: string[]): Promise<number> {
    const ours = new Set(this.opts.pool.relays)
    const own = relays.filter((r) => ours.has(r))
    const theirs = relays.filter((r) => !ours.has(r))
    const counts = await Promise.all([
      own.length ? this.publishVia(this.opts.pool, event, own) : 0,
      theirs.length ? this.publishVia(this.foreign, event, theirs) : 0
    ])
    return counts[0] + counts[1]
  }

  private async publishVia(pool: RelayPool, event: Event, only: string[]): Promise<number> {
    try {
      return (await pool.publishWithPow(event, { only })).accepted.length
    } catch (err) {
      this.opts.log.warn(`a kind ${event.kind} answer was not published: ${(err as Error).message}`)
      return 0
    }
  }
}
