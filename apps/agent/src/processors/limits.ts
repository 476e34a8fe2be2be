// The parts every processor shares: one signal for "stop now" that tells a cancellation from a
// timeout, and the mime type of an output.

import { ProcessorError } from './errors.js'
import type { JobOutput, RunLimits } from './types.js'

export interface Deadline {
  /** Aborts on the caller's signal or when the run's time is up, whichever comes first. */
  signal: AbortSignal
  /** The error for why `signal` fired: ABORTED or PROCESSOR_TIMEOUT. */
  reason(): ProcessorError
}

export function deadline(limits: RunLimits, what: string): Deadline {
  const timeout = AbortSignal.timeout(Math.max(1, limits.timeoutMs))
  return {
    signal: AbortSignal.any([limits.signal, timeout]),
    // The caller's signal wins a tie: a cancelled job is reported as cancelled.
    reason: () =>
      limits.signal.aborted ? ProcessorError.ABORTED(what) : ProcessorError.PROCESSOR_TIMEOUT(what, limits.timeoutMs)
  }
}

export const TEXT_MIME = 'text/plain; charset=utf-8'

export function textOutput(text: string): JobOutput {
  return { data: new TextEncoder().encode(text), mime: TEXT_MIME }
}

const SIGNATURES: ReadonlyArray<[string, number[]]> = [
  ['image/png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/gif', [0x47, 0x49, 0x46, 0x38]]
]

/** An image type from its magic bytes (PNG, JPEG, GIF, WebP), or null. */
export function imageMime(data: Uint8Array): string | null {
  for (const [mime, magic] of SIGNATURES) {
    if (magic.every((byte, i) => data[i] === byte)) return mime
  }
  const ascii = (from: number, to: number) => String.fromCharCode(...data.subarray(from, to))
  return data.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP' ? 'image/webp' : null
}

/** What a processor's raw bytes are: an image when its first bytes say so, else UTF-8 text. */
export function sniffMime(data: Uint8Array): string {
  return imageMime(data) ?? TEXT_MIME
}
