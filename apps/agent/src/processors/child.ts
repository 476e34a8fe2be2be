// One run of a child in its own process group: its stdout collected up to a cap, the tail of its
// stderr kept for the error, and the whole group killed when the run ends for any reason.

import { spawn, type ChildProcess } from 'node:child_process'
import { stripControls } from '@2020117/cli'
import { ProcessorError } from './errors.js'
import { deadline, sniffMime } from './limits.js'
import type { JobOutput, RunLimits } from './types.js'

export const STDERR_TAIL_BYTES = 1024

export function runChild(
  argv: string[],
  input: string,
  env: NodeJS.ProcessEnv,
  limits: RunLimits,
  what: string
): Promise<JobOutput> {
  const stop = deadline(limits, what)
  // detached: the child calls setsid(), so its pid is its process group's id.
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, env, stdio: 'pipe' })
  const stdout = new CappedBytes(limits.maxOutputBytes)
  const stderr = new TailBytes(STDERR_TAIL_BYTES)
  let stopped: ProcessorError | null = null
  const kill = (why: ProcessorError) => {
    stopped ??= why
    killGroup(child)
  }
  const onStop = () => kill(stop.reason())
  stop.signal.addEventListener('abort', onStop, { once: true })
  child.stdout.on('data', (chunk: Buffer) => {
    if (!stdout.push(chunk)) kill(ProcessorError.OUTPUT_TOO_LARGE(what, limits.maxOutputBytes))
  })
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  // A child that never reads its input closes the pipe under us: that is its business.
  child.stdin.on('error', () => {})
  child.stdin.end(input)
  child.on('exit', () => killGroup(child))
  return new Promise((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a failed spawn settles here; once running, 'close' always follows.
      if (child.pid !== undefined) return
      stop.signal.removeEventListener('abort', onStop)
      reject(ProcessorError.INVALID_PROCESSOR(`exec:${argv[0]}`, `could not be started (${err.code ?? err.message})`))
    })
    child.on('close', (code, signal) => {
      stop.signal.removeEventListener('abort', onStop)
      if (stopped !== null) return reject(stopped)
      if (code === 0) return resolve(outputOf(stdout.bytes()))
      reject(ProcessorError.PROCESSOR_FAILED(what, { exitCode: code, signal, stderrTail: tailText(stderr.bytes()) }))
    })
  })
}

function outputOf(data: Buffer): JobOutput {
  // A copy: a small Buffer is a view into Node's shared pool, and `data.buffer` would expose it.
  return { data: Uint8Array.from(data), mime: sniffMime(data) }
}

/** Kills every process in the child's group; a group already gone is fine. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // ESRCH: nothing of the job is left.
  }
}

// Whole terminal sequences (CSI such as ESC [31m, OSC such as a title), so that their parameters
// are not left behind as text once stripControls has removed the ESC.
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?/g

/** A stderr tail for a person: one line, escapes and control characters gone, no half character first. */
export function tailText(bytes: Buffer): string {
  const text = bytes
    .toString('utf8')
    .replace(/^\uFFFD+/, '')
    .replace(ESCAPES, '')
  return stripControls(text.replace(/\s+/g, ' ')).trim()
}

class CappedBytes {
  private readonly chunks: Buffer[] = []
  private size = 0

  constructor(private readonly max: number) {}

  /** false once the total is over the cap; nothing more is kept then. */
  push(chunk: Buffer): boolean {
    this.size += chunk.length
    if (this.size > this.max) return false
    this.chunks.push(chunk)
    return true
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

class TailBytes {
  private kept = Buffer.alloc(0)

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.kept, chunk.subarray(Math.max(0, chunk.length - this.max))])
    this.kept = joined.subarray(Math.max(0, joined.length - this.max))
  }

  bytes(): Buffer {
    return this.kept
  }
}
