// NIP-13 proof of work, mined off the main thread with a time bound (SPEC §12.2). The worker is
// terminated when the bound passes or the caller gives up; the caller is told which relays wanted
// how many bits for which kind, and what to do about it.

import { Worker } from 'node:worker_threads'
import type { UnsignedEvent } from 'nostr-tools/pure'
import { NostrError } from './errors.js'

export const DEFAULT_POW_TIMEOUT_MS = 60_000

/** The bins' `--pow-timeout=SECONDS` flag (a @2020117/cli FlagSpec): read it with `powTimeoutMs`. */
export const POW_TIMEOUT_FLAG = {
  type: 'integer',
  description: 'seconds to mine the proof of work a relay asks for (NIP-13) before giving up',
  default: DEFAULT_POW_TIMEOUT_MS / 1000,
  min: 1,
  max: 3600,
  placeholder: 'SECONDS'
} as const

/** The flag's value in ms. */
export function powTimeoutMs(values: Record<string, unknown>): number {
  const seconds = values['pow-timeout']
  return typeof seconds === 'number' ? seconds * 1000 : DEFAULT_POW_TIMEOUT_MS
}

export interface MineOptions {
  /** Give up after this long (default 60 s) with NostrError POW_TOO_SLOW. */
  timeoutMs?: number
  /** The relays that asked, for the error. */
  relays?: string[]
  signal?: AbortSignal
}

/**
 * The template with a `nonce` tag committing to `bits` and an id with at least that many leading
 * zero bits (unsigned: sign it with finalizeEvent, which keeps the id). A `nonce` tag already there
 * is replaced.
 */
export function mineEvent(
  template: UnsignedEvent,
  bits: number,
  opts: MineOptions = {}
): Promise<UnsignedEvent & { id: string }> {
  const unsigned = { ...template, tags: template.tags.filter((t) => t[0] !== 'nonce') }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_POW_TIMEOUT_MS
  const started = Date.now()
  return new Promise((resolve, reject) => {
    // No inherited execArgv: a test runner's `--conditions=source` would send the worker's imports to .ts files.
    const worker = new Worker(workerUrl(), { workerData: { template: unsigned, bits }, execArgv: [] })
    let done = false
    const finish = (fn: () => void) => {
      if (done) return
      done = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', abort)
      void worker.terminate()
      fn()
    }
    const abort = () => finish(() => reject(opts.signal?.reason ?? new Error('mining aborted')))
    const timer = setTimeout(
      () => finish(() => reject(NostrError.POW_TOO_SLOW(opts.relays ?? [], template.kind, bits, Date.now() - started))),
      timeoutMs
    )
    if (opts.signal?.aborted) return abort()
    opts.signal?.addEventListener('abort', abort)
    worker.once('message', (mined: UnsignedEvent & { id: string }) => finish(() => resolve(mined)))
    worker.once('error', (err) => finish(() => reject(NostrError.POW_FAILED(err.message))))
    worker.once('exit', (code) => finish(() => reject(NostrError.POW_FAILED(`the worker exited with code ${code}`))))
  })
}

/**
 * The worker next to this module in dist/. Tests run this module from its TypeScript source, which
 * a worker cannot load: they use the build (vitest's global setup runs `tsc -b` first).
 */
function workerUrl(): URL {
  if (import.meta.url.endsWith('.ts')) return new URL('../dist/pow-worker.js', import.meta.url)
  return new URL('./pow-worker.js', import.meta.url)
}
