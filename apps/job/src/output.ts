// Where a result goes. Its content and its tags are a provider's words: a file name is never taken
// from them (the name is --output, or ours: job-<request id>.<extension of a closed list>), a file
// is created exclusively (nothing is overwritten), a blob is fetched with a cap and kept only when
// it hashes to the result's `x`, and text for a terminal is stripped of control characters.

import { constants } from 'node:fs'
import { access, open } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fetchBlob } from '@2020117/blossom'
import { stripControls } from '@2020117/cli'
import type { Result } from '@2020117/jobs'

/** The extension of a blob's file, by its `m` tag; anything else is `.bin`. */
const EXTENSIONS: Readonly<Record<string, string>> = Object.freeze({
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
  'audio/ogg': 'ogg',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'application/pdf': 'pdf',
  'application/json': 'json',
  'text/plain': 'txt',
  'text/markdown': 'md'
})

export interface Saved {
  /** The text, when it went to stdout or the summary rather than a file. */
  text: string | null
  /** The file written, absolute. */
  file: string | null
  /** The blob's sha256, checked. */
  sha256: string | null
  bytes: number
}

export interface SaveOptions {
  requestId: string
  /** --output, else null. */
  output: string | null
  /** Print text results on stdout (not under --json, which carries them in the summary). */
  print: boolean
  maxBlobBytes: number
  timeoutMs: number
  cwd?: string
}

/** --output must not name a file that exists: checked before the request goes out, again at creation. */
export async function outputExists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK)
    return true
  } catch {
    return false
  }
}

export function extensionOf(mime: string | null): string {
  const type = mime?.toLowerCase().split(';')[0]!.trim() ?? ''
  // Own keys only: `constructor` or `__proto__` from a peer must not reach Object.prototype.
  return Object.hasOwn(EXTENSIONS, type) ? (EXTENSIONS[type] as string) : 'bin'
}

/** The blob a result links to, capped, and only if it hashes to the result's `x` (throws otherwise). */
export async function fetchResultBlob(result: Result, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  if (!result.blob) throw new TypeError('the result links no blob')
  return fetchBlob(result.content.trim(), { sha256: result.blob.sha256, maxBytes, timeoutMs })
}

/** Saves the result; `fetched` is its blob when it was fetched and checked already (pay after). */
export async function saveResult(result: Result, opts: SaveOptions, fetched: Uint8Array | null = null): Promise<Saved> {
  if (result.blob) {
    const bytes = fetched ?? (await fetchResultBlob(result, opts.maxBlobBytes, opts.timeoutMs))
    const name = opts.output ?? `job-${opts.requestId.slice(0, 12)}.${extensionOf(result.blob.mime)}`
    const file = resolve(opts.cwd ?? process.cwd(), name)
    await createExclusive(file, bytes)
    return { text: null, file, sha256: result.blob.sha256, bytes: bytes.byteLength }
  }
  const bytes = Buffer.from(result.content, 'utf8')
  if (opts.output) {
    const file = resolve(opts.cwd ?? process.cwd(), opts.output)
    await createExclusive(file, bytes)
    return { text: null, file, sha256: null, bytes: bytes.byteLength }
  }
  if (opts.print) process.stdout.write(forTerminal(result.content))
  return { text: result.content, file: null, sha256: null, bytes: bytes.byteLength }
}

/** O_EXCL: an existing file (or a link planted in its place) makes this fail, never overwritten. */
async function createExclusive(file: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(
    file,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644
  )
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Piped, the text is passed on as it came; on a terminal, each line is stripped of control characters. */
function forTerminal(text: string): string {
  if (!process.stdout.isTTY) return text
  const out = text.split('\n').map(stripControls).join('\n')
  return out.endsWith('\n') ? out : out + '\n'
}
