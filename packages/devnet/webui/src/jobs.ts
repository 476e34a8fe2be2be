// A "generation job": the fake sampler that every entry point (txt2img, Gradio WebSocket, SSE)
// runs. It reports one progress step at a time, then renders the images. Jobs run concurrently;
// each has its own progress, and the oldest running one is what /sdapi/v1/progress reports, as
// A1111 reports the job at the head of its queue.
//
// A *paced* job produces step 1 at once and then holds before each further step until its client
// calls advance() (POST /jobs/advance?id=...). That makes "the first progress event reached the
// client before the last one was produced" true by construction, with no clock involved: if
// anything between the server and the client buffers events, the client never sees a step to
// advance from and the job never finishes. Tests through a tunnel use it for that reason.

import { randomUUID } from 'node:crypto'
import { setImmediate as yieldToEventLoop, setTimeout as delay } from 'node:timers/promises'
import { WebUIError } from './errors.js'
import { renderImage } from './image.js'
import type { GenerationParams } from './params.js'

export interface JobResult {
  images: Buffer[]
  seeds: number[]
  /** Seconds from start to finish. */
  duration: number
}

export interface RunOptions {
  paced?: boolean
  /** Aborting cancels the job (its client went away). */
  signal?: AbortSignal
  /** Called once the job is registered, before step 1: the job id is known from here on. */
  onStart?: (job: Job) => void
  /** Called after each step with `job.step` already advanced. */
  onProgress?: (job: Job) => void
}

export class Job {
  readonly id = randomUUID()
  readonly startedAt = new Date()
  step = 0
  private credits = 0
  private wake: (() => void) | null = null

  constructor(
    readonly params: GenerationParams,
    readonly paced: boolean
  ) {}

  get total(): number {
    return this.params.steps
  }

  /** Lets a paced job produce one more step. Credits accumulate, so calling early is safe. */
  advance(): void {
    this.credits++
    this.wake?.()
  }

  /** Resolves when a credit is available (consuming it), rejects when `signal` aborts. */
  async takeCredit(signal: AbortSignal): Promise<void> {
    while (this.credits === 0) {
      signal.throwIfAborted()
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.wake = null
          signal.removeEventListener('abort', done)
          resolve()
        }
        this.wake = done
        signal.addEventListener('abort', done, { once: true })
      })
    }
    this.credits--
  }
}

export class JobRunner {
  private readonly running = new Map<string, Job>()
  private readonly closing = new AbortController()

  constructor(readonly stepDelayMs: number) {}

  get count(): number {
    return this.running.size
  }

  get(id: string): Job | undefined {
    return this.running.get(id)
  }

  /** The oldest running job (Map iteration follows insertion order). */
  current(): Job | undefined {
    return this.running.values().next().value
  }

  /** Seconds the job still needs, by the configured pace; 0 for paced jobs (the client decides). */
  etaSeconds(job: Job): number {
    return job.paced ? 0 : ((job.total - job.step) * this.stepDelayMs) / 1000
  }

  async run(params: GenerationParams, opts: RunOptions = {}): Promise<JobResult> {
    const signal = opts.signal ? AbortSignal.any([this.closing.signal, opts.signal]) : this.closing.signal
    signal.throwIfAborted()
    const job = new Job(params, opts.paced === true)
    this.running.set(job.id, job)
    try {
      opts.onStart?.(job)
      for (let step = 1; step <= job.total; step++) {
        if (!job.paced) await delay(this.stepDelayMs, undefined, { signal })
        else if (step > 1) await job.takeCredit(signal)
        job.step = step
        opts.onProgress?.(job)
      }
      const images: Buffer[] = []
      const seeds: number[] = []
      for (let i = 0; i < params.batchSize; i++) {
        // A large batch takes seconds of CPU: let other connections breathe between images.
        if (i > 0) await yieldToEventLoop(undefined, { signal })
        const seed = params.seed + i
        seeds.push(seed)
        images.push(renderImage({ prompt: params.prompt, seed, width: params.width, height: params.height }))
      }
      return { images, seeds, duration: (Date.now() - job.startedAt.getTime()) / 1000 }
    } catch (err) {
      if (signal.aborted) throw WebUIError.CANCELLED(`job ${job.id}`)
      throw err
    } finally {
      this.running.delete(job.id)
    }
  }

  /** Cancels every running job and refuses new ones: used by close(). */
  cancelAll(): void {
    this.closing.abort()
  }
}
