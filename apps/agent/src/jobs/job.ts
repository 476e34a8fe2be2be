// One job's life on the provider (SPEC §10.3), from an accepted request to its last feedback:
// pay first (invoice, wait, verify), or work first under --pay-after; then the input, the
// processor, the result and `success`. Every step that matters after a crash is in the journal
// first (store.ts), and `run()` picks up from the phase the journal says.
//
// Invariants:
// - No work before the payment is verified and the job is `paid` on disk (pay first).
// - A cancellation stops a job only while it is unpaid; a paid job is delivered whatever comes.
// - A shutdown stops the job without a word to the customer and leaves it in the journal, so
//   that the next start resumes it; every other end publishes `error` or `success` and removes it.
// - Answers of an encrypted job are encrypted (buildFeedback/buildResult), and its output never
//   goes to a public blob (output.ts).

import { buildFeedback, buildResult, type FeedbackOptions, type JobRequest } from '@2020117/jobs'
import type { ClaimRecord } from '@2020117/files'
import { npubOf, type RelayPool } from '@2020117/nostr'
import type { Logger } from '@2020117/cli'
import { getPublicKey, type Event } from 'nostr-tools/pure'
import { jobInvoiceDescription } from '@2020117/protocol'
import { JobFailure } from './errors.js'
import { resolveInput, type InputContext } from './input.js'
import { deliverable, type BlobUploader } from './output.js'
import { awaitPayment, freshInvoice, type JobInvoice, type JobWallet } from './payment.js'
import { answerRelays, type ReachPolicy } from './reach.js'
import type { JobStore, JournalEntry } from './store.js'
import type { InputType, Processor } from '../processors/index.js'

export interface JobContext {
  secretKey: Uint8Array
  store: JobStore
  credited: ClaimRecord
  /** null: --free, nothing is charged. */
  wallet: JobWallet | null
  processor: Processor
  pool: RelayPool
  /** Publishes to `relays` (ours and a request's own); resolves with how many took it. */
  publish(event: Event, relays: string[]): Promise<number>
  reach: ReachPolicy
  timeoutMs: number
  maxOutputBytes: number
  /** How long an unpaid job waits, and its invoice's expiry. */
  paymentSeconds: number
  upload: BlobUploader | null
  /** The job's outcome is settled: its slot is free before its last answer goes out. */
  release(id: string): void
  /** Whether another job in flight holds this payment hash. */
  hashInUse(paymentHash: string, except: string): boolean
  log: Logger
  emit(event: Record<string, unknown>): void
}

/** The shutdown's abort reason: the job stays in the journal and says nothing. */
const SHUTDOWN = Symbol('shutdown')

export class Job {
  readonly request: JobRequest
  entry: JournalEntry
  private readonly ctx: JobContext
  private readonly relays: string[]
  private readonly cancelling = new AbortController()
  private readonly stopping: AbortSignal

  constructor(ctx: JobContext, request: JobRequest, entry: JournalEntry, stopping: AbortSignal) {
    this.ctx = ctx
    this.request = request
    this.entry = entry
    this.stopping = stopping
    this.relays = answerRelays(request.relays, ctx.reach)
  }

  get id(): string {
    return this.request.id
  }

  /** Paid first and verified: from here on the job is delivered whatever the customer does. */
  get paid(): boolean {
    return this.charged && this.entry.phase !== 'awaiting_payment'
  }

  /** Paid first (not --free, not --pay-after). */
  private get charged(): boolean {
    return !this.entry.payAfter && this.entry.priceMsat > 0
  }

  /** The customer deleted its request: stops the job if it is not paid; a paid job is delivered. */
  cancel(): boolean {
    if (this.paid) return false
    this.cancelling.abort()
    return true
  }

  async run(): Promise<void> {
    try {
      // The input first: a url that is too large or an event that does not exist is refused before
      // the customer pays for it (a resumed job reads it again).
      if (this.entry.phase !== 'delivering') {
        const input = await resolveInput(this.request, this.inputContext())
        if (this.charged && !this.paid) await this.takePayment()
        await this.work(input)
      }
      await this.deliver()
    } catch (err) {
      if (this.stopping.aborted) return // resumed at the next start
      const failure = JobFailure.of(err)
      await this.fail(this.paid ? failure.afterPayment(this.entry.priceMsat) : failure, err)
    }
  }

  /** Invoice (once: a resumed job keeps its own), `payment-required`, then the verified payment. */
  private async takePayment(): Promise<void> {
    const { ctx, entry } = this
    const wallet = ctx.wallet!
    if (!entry.invoice) {
      const invoice = await this.invoice(AbortSignal.any([this.cancelling.signal, this.stopping]))
      await this.advance({ invoice })
      await this.feedback({ status: 'payment-required', amountMsat: entry.priceMsat, bolt11: invoice.bolt11 })
      ctx.emit({ event: 'job_payment_required', requestId: this.id, amountMsat: entry.priceMsat })
    }
    const signal = AbortSignal.any([this.cancelling.signal, this.stopping])
    const outcome = await awaitPayment(wallet, this.entry.invoice as JobInvoice, ctx.credited, signal)
    if (outcome.paid) {
      await this.advance({ phase: 'paid' })
      ctx.emit({ event: 'job_paid', requestId: this.id, amountMsat: entry.priceMsat })
      return
    }
    if (this.stopping.aborted) throw SHUTDOWN
    if (outcome.cancelled) throw JobFailure.CANCELLED()
    throw JobFailure.PAYMENT_NOT_RECEIVED(outcome.why)
  }

  private inputContext(): InputContext {
    const { ctx } = this
    const signal = AbortSignal.any([this.cancelling.signal, this.stopping])
    return { pool: ctx.pool, reach: ctx.reach, signal, timeoutMs: ctx.timeoutMs }
  }

  /** The processor, the result and `success`. Under --pay-after the invoice comes with the result. */
  private async work({ input, inputType }: { input: string; inputType: InputType }): Promise<void> {
    const { ctx, entry } = this
    await this.advance({ phase: 'working' })
    await this.feedback({ status: 'processing' })
    ctx.emit({ event: 'job_working', requestId: this.id })
    // A paid job is stopped by a shutdown only; an unpaid one (pay-after, free) by a cancellation too.
    const signal = this.paid ? this.stopping : AbortSignal.any([this.cancelling.signal, this.stopping])
    const limits = { signal, timeoutMs: ctx.timeoutMs, maxOutputBytes: ctx.maxOutputBytes }
    const output = await ctx.processor.run(
      { kind: this.request.kind, input, inputType, params: this.request.params },
      limits
    )
    const result = await deliverable(output, { upload: ctx.upload, encrypted: this.request.encryption !== null })
    const bill = entry.payAfter && entry.priceMsat > 0 ? await this.invoice(this.stopping) : null
    const amount = entry.priceMsat > 0 ? { amountMsat: entry.priceMsat, ...(bill ? { bolt11: bill.bolt11 } : {}) } : {}
    const answers = [
      buildResult(
        this.request,
        { content: result.content, ...amount, ...(result.blob ? { blob: result.blob } : {}) },
        ctx.secretKey
      ),
      buildFeedback(this.request, { status: 'success' }, ctx.secretKey)
    ]
    await this.advance({ phase: 'delivering', answers })
  }

  /** Publishes the signed result and `success` the journal holds (again, after a crash: same ids). */
  private async deliver(): Promise<void> {
    const { entry } = this
    this.ctx.release(this.id)
    for (const answer of entry.answers ?? []) await this.send(answer)
    await this.end({
      event: 'job_delivered',
      requestId: this.id,
      amountMsat: entry.priceMsat,
      payAfter: entry.payAfter
    })
  }

  /** The job's invoice, its description naming the request (pay-after: the one the result carries). */
  private invoice(signal: AbortSignal): Promise<JobInvoice> {
    const { ctx } = this
    const description = jobInvoiceDescription(
      this.id,
      npubOf(getPublicKey(ctx.secretKey)),
      npubOf(this.request.customer)
    )
    const make: [number, string, number] = [this.entry.priceMsat, description, ctx.paymentSeconds]
    return freshInvoice(ctx.wallet!, ctx.credited, (h) => ctx.hashInUse(h, this.id), make, signal)
  }

  private async fail(failure: JobFailure, cause: unknown): Promise<void> {
    this.ctx.release(this.id)
    const fields = { requestId: this.id, reason: failure.reason, paidMsat: this.paid ? this.entry.priceMsat : 0 }
    if (failure.reason === 'INTERNAL_ERROR')
      this.ctx.log.warn(`job ${this.id.slice(0, 12)} failed: ${String((cause as Error)?.message ?? cause)}`, fields)
    else this.ctx.log.info(`job ${this.id.slice(0, 12)} ended: ${failure.text}`, fields)
    // A cancelled job is not answered: its author deleted it, and a feedback to it is noise (SPEC §10.3: stop).
    if (failure.reason !== 'CANCELLED') await this.feedback({ status: 'error', text: failure.text }).catch(() => {})
    await this.end({ event: 'job_failed', ...fields })
  }

  private async end(record: Record<string, unknown>): Promise<void> {
    await this.ctx.store.remove(this.id)
    this.ctx.emit(record)
  }

  private async advance(change: Partial<JournalEntry>): Promise<void> {
    this.entry = { ...this.entry, ...change }
    await this.ctx.store.put(this.id, this.entry)
  }

  private feedback(f: FeedbackOptions): Promise<number> {
    return this.send(buildFeedback(this.request, f, this.ctx.secretKey))
  }

  private async send(event: Event): Promise<number> {
    const accepted = await this.ctx.publish(event, this.relays)
    if (accepted === 0) this.ctx.log.warn(`no relay took the kind ${event.kind} answer to job ${this.id.slice(0, 12)}`)
    return accepted
  }
}
