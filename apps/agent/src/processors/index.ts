// The `--processor` forms of job mode, each behind one interface (types.ts):
//   exec:PATH [ARGS…]      the provider's program (exec.ts)
//   http(s)://host:port    an A1111, Ollama or OpenAI-compatible upstream (http.ts)
//   ollama                 Ollama at OLLAMA_ORIGIN with --model=NAME

import { ExecProcessor } from './exec.js'
import { ProcessorError } from './errors.js'
import { HttpProcessor } from './http.js'
import type { Processor, ProcessorOptions } from './types.js'

export const OLLAMA_ORIGIN = 'http://127.0.0.1:11434'

/** A processor from a `--processor` value; INVALID_PROCESSOR when it is none of the forms. */
export function createProcessor(spec: string, opts: ProcessorOptions = {}): Processor {
  if (spec.startsWith('exec:')) return new ExecProcessor(spec)
  if (/^https?:\/\//i.test(spec)) return new HttpProcessor(spec, opts)
  if (spec === 'ollama') {
    if (!opts.model) throw ProcessorError.INVALID_PROCESSOR(spec, 'needs --model=NAME (e.g. --model=llama3.2)')
    return new HttpProcessor(OLLAMA_ORIGIN, { api: 'ollama', model: opts.model })
  }
  throw ProcessorError.INVALID_PROCESSOR(spec, 'is not a processor')
}

export { ProcessorError } from './errors.js'
export type { ProcessorErrorCode, ProcessorFailure } from './errors.js'
export type { ApiName, InputType, JobOutput, JobWork, Processor, ProcessorOptions, RunLimits } from './types.js'
export { INHERITED_ENV, JOB_REQUEST_ENV, MAX_JOB_REQUEST_BYTES } from './exec.js'
export { STDERR_TAIL_BYTES } from './child.js'
export { IMAGE_KINDS, PROBES } from './http.js'
export { TEXT_MIME } from './limits.js'
