// `http(s)://host:port`: the same upstream the session tunnel serves, asked once per job through
// an adapter (adapters.ts). The adapter is `--api` when given; otherwise it is detected once, on
// the first job, by probing PROBES in order (the first to answer 2xx with JSON wins); when none
// does, image kinds (IMAGE_KINDS) go to A1111 and anything else is UPSTREAM_UNSUPPORTED.
// Only the configured origin is ever contacted, and a redirect is refused rather than followed.

import { ADAPTERS, type Adapter } from './adapters.js'
import { ProcessorError } from './errors.js'
import { BodyTooLarge, jsonObject, requestUpstream } from './http-client.js'
import { deadline, type Deadline } from './limits.js'
import type { ApiName, JobOutput, JobWork, Processor, ProcessorOptions, RunLimits } from './types.js'

export const PROBES: ReadonlyArray<readonly [ApiName, string]> = [
  ['a1111', '/sdapi/v1/options'],
  ['ollama', '/api/tags'],
  ['openai', '/v1/models']
]
/** Image generation in both catalogues (the DVM registry's 5100, 2020117's 5200). */
export const IMAGE_KINDS: readonly number[] = [5100, 5200]
/** A1111's options and Ollama's model list are a few KiB; a long model list fits too. */
const PROBE_BYTES = 256 * 1024
/** All probes together; a job waiting on them still stops at its own deadline. */
const DETECT_TIMEOUT_MS = 30_000

export class HttpProcessor implements Processor {
  readonly describe: string
  private readonly origin: URL
  private detection: Promise<ApiName | null> | null = null
  private detected: ApiName | null = null

  constructor(
    spec: string,
    private readonly opts: ProcessorOptions
  ) {
    this.origin = parseOrigin(spec)
    if (opts.api === 'ollama' && !opts.model)
      throw ProcessorError.INVALID_PROCESSOR(spec, 'is Ollama: pass --model=NAME')
    this.describe = `${this.origin.origin} (${opts.api ?? 'API detected on the first job'})`
  }

  /** A1111 answers with images only; before detection, an image kind is taken to go to it. */
  imageOutput(kind: number): boolean {
    const api = this.opts.api ?? this.detected
    return api === 'a1111' || (api === null && IMAGE_KINDS.includes(kind))
  }

  async run(work: JobWork, limits: RunLimits): Promise<JobOutput> {
    if (limits.signal.aborted) throw ProcessorError.ABORTED(this.describe)
    const stop = deadline(limits, this.describe)
    try {
      const adapter = ADAPTERS[await this.apiFor(work.kind, stop.signal)]
      return await this.call(adapter, work, limits.maxOutputBytes, stop.signal)
    } catch (err) {
      throw this.explain(err, stop, limits.maxOutputBytes)
    }
  }

  private async call(adapter: Adapter, work: JobWork, maxOutput: number, signal: AbortSignal): Promise<JobOutput> {
    if (adapter.name === 'ollama' && !this.opts.model) {
      throw ProcessorError.INVALID_PROCESSOR(this.origin.origin, 'is Ollama: pass --model=NAME')
    }
    const res = await requestUpstream(this.origin, {
      method: 'POST',
      path: adapter.path,
      body: adapter.body(work, this.opts.model),
      signal,
      maxBytes: adapter.maxBodyBytes(work, maxOutput)
    })
    const fail = (why: string) => ProcessorError.UPSTREAM_ERROR(this.origin.origin, why)
    const output = adapter.output(jsonObject(this.origin.origin, res), fail)
    if (output.data.byteLength > maxOutput) throw ProcessorError.OUTPUT_TOO_LARGE(this.describe, maxOutput)
    return output
  }

  private async apiFor(kind: number, signal: AbortSignal): Promise<ApiName> {
    if (this.opts.api) return this.opts.api
    // One detection for every job, on its own deadline so that one job's cancellation does not fail
    // another's; a failed one (the upstream was down) is tried again on the next job.
    this.detection ??= detectApi(this.origin, AbortSignal.timeout(DETECT_TIMEOUT_MS)).catch((err: unknown) => {
      this.detection = null
      throw err
    })
    const detected = await untilAborted(this.detection, signal)
    if (detected !== null) return (this.detected = detected)
    if (IMAGE_KINDS.includes(kind)) return 'a1111'
    throw ProcessorError.UPSTREAM_UNSUPPORTED(
      this.origin.origin,
      `answers none of ${PROBES.map(([, path]) => path).join(', ')}, and kind ${kind} is not an image kind`
    )
  }

  private explain(err: unknown, stop: Deadline, maxOutput: number): ProcessorError {
    if (err instanceof ProcessorError) return err
    if (stop.signal.aborted) return stop.reason()
    if (err instanceof BodyTooLarge) return ProcessorError.OUTPUT_TOO_LARGE(this.describe, maxOutput)
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    return ProcessorError.UPSTREAM_ERROR(this.origin.origin, `it could not be reached (${code})`)
  }
}

/** The first API in PROBES whose probe answers 2xx with JSON, or null. */
export async function detectApi(origin: URL, signal: AbortSignal): Promise<ApiName | null> {
  for (const [api, path] of PROBES) {
    const res = await requestUpstream(origin, { method: 'GET', path, signal, maxBytes: PROBE_BYTES }).catch(
      (err: unknown) => {
        // An answer too large for a probe is not this API; anything else (refused, aborted) is.
        if (err instanceof BodyTooLarge) return null
        throw err
      }
    )
    if (res !== null && res.status >= 200 && res.status < 300 && isJson(res.body)) return api
  }
  return null
}

/** The promise, or a rejection as soon as `signal` aborts (the work behind the promise goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'))
    return true
  } catch {
    return false
  }
}

/** `http(s)://host[:port]`, and nothing else: no path, query, fragment or credentials. */
export function parseOrigin(spec: string): URL {
  let url: URL
  try {
    url = new URL(spec)
  } catch {
    throw ProcessorError.INVALID_PROCESSOR(spec, 'is not a URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ProcessorError.INVALID_PROCESSOR(spec, 'must start with http:// or https://')
  }
  if (url.username !== '' || url.password !== '') {
    throw ProcessorError.INVALID_PROCESSOR(url.host, 'carries credentials, which would show in logs')
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw ProcessorError.INVALID_PROCESSOR(spec, 'must be an origin only (http://host:port), without a path')
  }
  return url
}
