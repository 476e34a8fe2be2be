// The HTTP primitives both directions share: only http(s) URLs, one deadline for a request and its
// body, and a body read with a byte cap, so a hostile server can neither stall nor flood us.

import { peerText } from '@2020117/cli'
import { BlossomError } from './errors.js'

const MAX_URL_LENGTH = 2048

/** The URL when it is absolute http(s) and of sane length; `what` names it in the error. */
export function httpUrl(text: string, base?: string): URL {
  let url: URL
  try {
    url = new URL(text, base)
  } catch {
    throw BlossomError.INVALID_URL(peerText(text, 200))
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.href.length > MAX_URL_LENGTH)
    throw BlossomError.INVALID_URL(peerText(url.href, 200))
  return url
}

/** fetch with a deadline (also over the body, read through the same signal) and typed failures. */
export async function request(url: URL, init: RequestInit, signal: AbortSignal, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal })
  } catch (err) {
    throw failure(url, err, signal, timeoutMs)
  }
}

export function failure(url: URL, err: unknown, signal: AbortSignal, timeoutMs: number): BlossomError {
  if (err instanceof BlossomError) return err
  if (signal.aborted) return BlossomError.TIMEOUT(url.href, timeoutMs)
  return BlossomError.NETWORK_FAILED(url.href, err)
}

/** The whole body, or TOO_LARGE as soon as it passes `max` bytes (declared or counted). */
export async function readCapped(res: Response, max: number, tooLarge: () => BlossomError): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? 0)
  if (declared > max || !res.body) {
    await res.body?.cancel()
    if (declared > max) throw tooLarge()
    return new Uint8Array(0)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = res.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.length
    if (size > max) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

export function positiveInteger(name: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    throw BlossomError.INVALID_OPTION(name, 'must be a positive integer')
  return value as number
}
