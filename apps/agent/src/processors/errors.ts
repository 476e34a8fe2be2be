// The processors' one error. `code` is stable: the job loop turns it into a 7000 `error` feedback
// and the agent's log; the message says what happened and what to do next. Nothing in a message
// comes from a child or an upstream unless it was bounded and stripped of control characters.

export type ProcessorErrorCode =
  | 'INVALID_PROCESSOR'
  | 'INVALID_PARAMS'
  | 'PROCESSOR_TIMEOUT'
  | 'PROCESSOR_FAILED'
  | 'OUTPUT_TOO_LARGE'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_UNSUPPORTED'
  | 'ABORTED'

export interface ProcessorFailure {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null
  signal: string | null
  /** The last bytes of stderr, control characters stripped; '' when it wrote none. */
  stderrTail: string
}

export class ProcessorError extends Error {
  readonly code: ProcessorErrorCode
  /** Set for PROCESSOR_FAILED only. */
  readonly failure: ProcessorFailure | null

  private constructor(code: ProcessorErrorCode, message: string, failure: ProcessorFailure | null = null) {
    super(message)
    this.name = 'ProcessorError'
    this.code = code
    this.failure = failure
  }

  static INVALID_PROCESSOR(spec: string, why: string): ProcessorError {
    return new ProcessorError(
      'INVALID_PROCESSOR',
      `--processor "${spec}" ${why}. Use exec:PATH [ARGS…], http(s)://host:port, or ollama with --model=NAME`
    )
  }

  static INVALID_PARAMS(why: string): ProcessorError {
    return new ProcessorError(
      'INVALID_PARAMS',
      `the job's params were refused: ${why}. Fix them and send the job again`
    )
  }

  static PROCESSOR_TIMEOUT(what: string, ms: number): ProcessorError {
    return new ProcessorError(
      'PROCESSOR_TIMEOUT',
      `${what} did not finish within ${ms} ms and was stopped: raise --job-timeout or make the job smaller`
    )
  }

  static PROCESSOR_FAILED(what: string, failure: ProcessorFailure): ProcessorError {
    const how = failure.signal === null ? `exited with code ${failure.exitCode}` : `was killed by ${failure.signal}`
    const tail = failure.stderrTail === '' ? 'it wrote nothing to stderr' : `stderr ends: ${failure.stderrTail}`
    return new ProcessorError('PROCESSOR_FAILED', `${what} ${how} (${tail}): check the processor`, failure)
  }

  static OUTPUT_TOO_LARGE(what: string, max: number): ProcessorError {
    return new ProcessorError(
      'OUTPUT_TOO_LARGE',
      `${what} produced more than ${max} bytes and was stopped: raise the output limit or ask for a smaller output`
    )
  }

  static UPSTREAM_ERROR(origin: string, why: string): ProcessorError {
    return new ProcessorError('UPSTREAM_ERROR', `the upstream ${origin} failed: ${why}. Check that it runs and works`)
  }

  static UPSTREAM_UNSUPPORTED(origin: string, why: string): ProcessorError {
    return new ProcessorError(
      'UPSTREAM_UNSUPPORTED',
      `the upstream ${origin} ${why}: pass --api=a1111, --api=ollama or --api=openai`
    )
  }

  static ABORTED(what: string): ProcessorError {
    return new ProcessorError('ABORTED', `${what} was stopped because the job was cancelled or the agent is stopping`)
  }
}
