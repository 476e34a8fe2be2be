// `exec:PATH [ARGS…]`: the provider's own program, run once per job.
//
// - The spec is split into argv by shell-quote's parser, and no shell ever runs: a pipe, a
//   redirection, a glob or an unquoted $VAR in the spec is refused, not silently dropped.
// - The input goes to stdin; `JOB_REQUEST` holds {"kind", "input_type", "params"} as JSON.
// - The environment is built from INHERITED_ENV and nothing else, so the agent's NWC URI, keys
//   and relay credentials never reach the child. HOME and TMPDIR are a fresh directory per job,
//   removed afterwards. A provider who wants more passes it visibly: `exec:/usr/bin/env K=V prog`.
// - The child leads its own process group. A timeout, a cancellation or an output over the cap
//   kills the whole group, and so does the child's exit: nothing a job started outlives it.
// - stdout is the output; a non-zero exit is PROCESSOR_FAILED with a bounded stderr tail.

import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, quote } from 'shell-quote'
import { ProcessorError } from './errors.js'
import { runChild } from './child.js'
import type { JobOutput, JobWork, Processor, RunLimits } from './types.js'

/** Copied from the agent's environment when set; the child gets these and what runChild adds. */
export const INHERITED_ENV = ['PATH', 'LANG', 'LC_ALL', 'TZ'] as const
export const JOB_REQUEST_ENV = 'JOB_REQUEST'
/** Linux refuses an environment string over 128 KiB; stay well below it. */
export const MAX_JOB_REQUEST_BYTES = 32 * 1024
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin'

export class ExecProcessor implements Processor {
  readonly describe: string
  private readonly argv: string[]

  constructor(spec: string) {
    this.argv = parseExecSpec(spec)
    this.describe = `exec ${quote(this.argv)}`
  }

  async run(work: JobWork, limits: RunLimits): Promise<JobOutput> {
    if (limits.signal.aborted) throw ProcessorError.ABORTED(this.describe)
    const request = jobRequestJson(work)
    const home = await mkdtemp(join(tmpdir(), '2020117-job-'))
    try {
      return await runChild(this.argv, work.input, childEnv(request, home), limits, this.describe)
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  }
}

/** argv from `exec:PATH [ARGS…]`, quoted like a shell would, with nothing a shell would expand. */
export function parseExecSpec(spec: string): string[] {
  let entries: ReturnType<typeof parse<{ variable: string }>>
  try {
    entries = parse(spec.slice('exec:'.length), (variable) => ({ variable }))
  } catch (err) {
    throw ProcessorError.INVALID_PROCESSOR(spec, `cannot be split into arguments (${(err as Error).message})`)
  }
  const argv = entries.map((entry) => {
    if (typeof entry === 'string') return entry
    throw ProcessorError.INVALID_PROCESSOR(
      spec,
      `${shellOnly(entry)}, but no shell runs it: quote it, or write a script`
    )
  })
  const program = argv[0]
  if (program === undefined || program === '') throw ProcessorError.INVALID_PROCESSOR(spec, 'names no program')
  // A path is checked now, so a typo fails at start-up; a bare name is looked up on PATH per job.
  if (program.includes('/')) checkExecutable(spec, program)
  return argv
}

function shellOnly(entry: Exclude<ReturnType<typeof parse<{ variable: string }>>[number], string>): string {
  if ('variable' in entry) return `uses $${entry.variable}`
  if ('comment' in entry) return 'has a # comment'
  if (entry.op === 'glob') return `has the pattern ${entry.pattern}`
  return `has the shell operator ${entry.op}`
}

function checkExecutable(spec: string, program: string): void {
  try {
    accessSync(program, constants.X_OK)
  } catch {
    throw ProcessorError.INVALID_PROCESSOR(spec, `names ${program}, which is missing or not executable (chmod +x it)`)
  }
}

/** The child's JOB_REQUEST: snake_case JSON, bounded. */
export function jobRequestJson(work: JobWork): string {
  const json = JSON.stringify({ kind: work.kind, input_type: work.inputType, params: work.params })
  if (Buffer.byteLength(json) > MAX_JOB_REQUEST_BYTES) {
    throw ProcessorError.INVALID_PARAMS(`together they exceed ${MAX_JOB_REQUEST_BYTES} bytes`)
  }
  return json
}

/** The whole environment of a child: INHERITED_ENV, then HOME and TMPDIR, then JOB_REQUEST. */
export function childEnv(request: string, home: string, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const name of INHERITED_ENV) {
    const value = parent[name]
    if (value !== undefined) env[name] = value
  }
  env.PATH ??= DEFAULT_PATH
  return { ...env, HOME: home, TMPDIR: home, [JOB_REQUEST_ENV]: request }
}
