// What a result carries (SPEC §10.1): the output itself when it is text that fits in an event, else
// a link to it on the provider's Blossom server (BUD-02), with its sha256 (`x`) and type (`m`).
// NIP-90 image kinds deliver links, so every image goes to Blossom.
//
// Invariant: an encrypted job's output never goes to Blossom: a blob there is public, and the
// request asked for its answer to stay between the two parties. Such an output must fit inline.

import { createHash } from 'node:crypto'
import { JobFailure } from './errors.js'
import type { JobOutput } from '../processors/index.js'

/** Outputs above this go to Blossom: relays refuse large events (NIP-11 limits are often 64-128 KiB). */
export const MAX_INLINE_OUTPUT_BYTES = 60 * 1024

/** Puts a blob on the provider's Blossom server; resolves with its URL. */
export type BlobUploader = (data: Uint8Array, mime: string) => Promise<{ url: string; sha256: string }>

export interface Deliverable {
  content: string
  blob?: { sha256: string; mime: string }
}

export async function deliverable(
  output: JobOutput,
  opts: { upload: BlobUploader | null; encrypted: boolean }
): Promise<Deliverable> {
  const text = output.mime.startsWith('text/')
  if (text && output.data.byteLength <= MAX_INLINE_OUTPUT_BYTES)
    return { content: Buffer.from(output.data).toString('utf8') }
  if (opts.encrypted)
    throw JobFailure.OUTPUT_TOO_LARGE(
      `an encrypted job's output must be text of at most ${MAX_INLINE_OUTPUT_BYTES} bytes (a blob would be public)`
    )
  if (!opts.upload)
    throw JobFailure.OUTPUT_TOO_LARGE(
      `the output (${output.mime}, ${output.data.byteLength} bytes) needs a Blossom server, and this provider has none`
    )
  const sha256 = createHash('sha256').update(output.data).digest('hex')
  let uploaded: { url: string; sha256: string }
  try {
    uploaded = await opts.upload(output.data, output.mime)
  } catch {
    throw JobFailure.INTERNAL_ERROR()
  }
  if (uploaded.sha256 !== sha256) throw JobFailure.INTERNAL_ERROR()
  return { content: uploaded.url, blob: { sha256, mime: output.mime } }
}
