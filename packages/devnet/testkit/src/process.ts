// Spawning a child process and waiting on what it prints: the one primitive behind the tests' bins
// (spawnBin), the measurement scripts' harness, the demo and the live fuzzer. Waits synchronise on
// output lines and on the exit, never on sleeps: a wait settles with the first line that matches,
// already printed or to come, and fails as soon as the process has exited without printing it.
//
// `exited` settles on 'close', after both pipes have ended: once it has, stdout() and stderr() hold
// everything the process printed, so a wait cannot fail on output that was still in a pipe.

import { spawn, type ChildProcess } from 'node:child_process'
import { basename } from 'node:path'

export type Stream = 'stdout' | 'stderr'

export interface Line {
  text: string
  stream: Stream
  /** When it arrived, in ms since the epoch (performance.timeOrigin + performance.now()). */
  at: number
}

export interface SpawnOptions {
  /** Names the process in error messages (default: the command's file name). */
  name?: string
  cwd?: string
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv
  stdin?: 'pipe' | 'ignore'
  /** In a process group of its own: a Ctrl-C in the terminal does not reach it, and `-pid` reaches its children. */
  detached?: boolean
  /** Lines kept per stream, the oldest dropped first (default: all): a long run must not hold every line. */
  keepLines?: number
  /** Rewrites a line before it is kept and matched, or drops it (null): e.g. a time stamped into it. */
  mapLine?: (line: Line) => Line | null
}

export interface WaitOptions {
  stream?: Stream | 'any'
  /** Only lines printed from now on: what happened after the caller did something. */
  fresh?: boolean
  /** Fails after this long (default: never; the test framework's timeout bounds it). */
  timeoutMs?: number
  /** What is awaited, for the error message. */
  what?: string
  /** Also the line still being printed, before its newline: a prompt waiting for an answer. */
  partial?: boolean
}

export interface Found<T> {
  line: Line
  /** What the test returned for the line. */
  match: T
}

export interface Proc {
  readonly name: string
  readonly child: ChildProcess
  /** The child's pid (a wrapper such as scripts/bench/stamp.mjs may replace it with its child's). */
  pid: number
  /** performance.now() when it was spawned. */
  readonly spawnedAt: number
  /** The exit code, signal name or spawn error code once it has exited; undefined while it runs. */
  readonly exitCode: number | string | undefined
  /** Everything printed so far (what keepLines kept), as text. */
  stdout(): string
  stderr(): string
  /** The lines kept so far of one stream. */
  lines(stream: Stream): Line[]
  /** Calls `listener` with every line from now on; returns the function that stops it. */
  onLine(listener: (line: Line) => void): () => void
  /** The first line for which `test` returns a truthy value, with that value. */
  find<T>(test: (text: string) => T | null | undefined | false, opts?: WaitOptions): Promise<Found<T>>
  /** The first line matching, including lines already printed unless `fresh`. */
  line(match: RegExp, stream?: Stream | 'any', opts?: Omit<WaitOptions, 'stream'>): Promise<string>
  /** The first stdout line that is a JSON object and satisfies the predicate. */
  json<T = Record<string, any>>(pred?: (v: T) => boolean, opts?: Omit<WaitOptions, 'stream'>): Promise<T>
  /** Resolves with the exit code (or signal name, or spawn error code) once its output is complete. */
  exited: Promise<number | string>
  write(text: string): void
  /** Signals the process if it still runs. */
  kill(signal?: NodeJS.Signals): void
}

interface Waiter {
  test: (line: Line) => unknown
  what: string
  partial: boolean
  resolve: (found: Found<any>) => void
  reject: (err: Error) => void
  timer?: NodeJS.Timeout
}

/** `text` parsed as JSON when it is an object that satisfies `pred`, else null. */
export function parseJson<T>(text: string, pred: (v: T) => boolean = () => true): T | null {
  try {
    const v = JSON.parse(text) as T
    return v && typeof v === 'object' && pred(v) ? v : null
  } catch {
    return null
  }
}

export function spawnProcess(command: string, args: string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: opts.detached ?? false,
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe']
  })
  // A child may exit before it reads what it is sent: EPIPE then is no reason to crash the caller.
  child.stdin?.on('error', () => {})
  return new SpawnedProcess(opts.name ?? basename(command), child, new Output(child, opts))
}

// The methods are bound fields, not prototype methods, so that a Proc can be spread into another
// object (`{ ...proc, line: … }`, as a test wraps one) and keep working.
class SpawnedProcess implements Proc {
  pid: number
  readonly spawnedAt = performance.now()
  readonly exited: Promise<number | string>
  private code: number | string | undefined
  private readonly waiters = new Set<Waiter>()

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    private readonly output: Output
  ) {
    this.pid = child.pid ?? -1
    output.onLine((line) => this.feed(line, false))
    output.onPartial((line) => this.feed(line, true))
    this.exited = new Promise((resolve) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (child.pid === undefined) resolve(this.ended(err.code ?? 'SPAWN_FAILED'))
      })
      child.once('close', (code, signal) => resolve(this.ended(code ?? signal ?? -1)))
    })
  }

  get exitCode(): number | string | undefined {
    return this.code
  }

  readonly stdout = (): string => this.output.text('stdout')

  readonly stderr = (): string => this.output.text('stderr')

  readonly lines = (stream: Stream): Line[] => [...this.output.lines[stream]]

  readonly onLine = (listener: (line: Line) => void): (() => void) => this.output.onLine(listener)

  readonly find = <T>(
    test: (text: string) => T | null | undefined | false,
    wait: WaitOptions = {}
  ): Promise<Found<T>> => {
    const stream = wait.stream ?? 'any'
    const what = wait.what ?? 'the line awaited'
    const check = (line: Line) => (stream === 'any' || line.stream === stream) && test(line.text)
    const partial = wait.partial ?? false
    const seen = wait.fresh ? undefined : this.output.search(stream, check, partial)
    if (seen) return Promise.resolve(seen as Found<T>)
    if (this.code !== undefined)
      return Promise.reject(
        new Error(`${this.name} has exited (${this.code}) without printing ${what}\n${this.tail()}`)
      )
    return new Promise((resolve, reject) => {
      const w: Waiter = { test: check, what, partial, resolve, reject }
      if (wait.timeoutMs !== undefined) {
        const failure = `${this.name}: nothing printed ${what} within ${wait.timeoutMs} ms\n${this.tail()}`
        w.timer = setTimeout(() => this.settle(w).reject(new Error(failure)), wait.timeoutMs)
      }
      this.waiters.add(w)
    })
  }

  readonly line = async (
    match: RegExp,
    stream: Stream | 'any' = 'any',
    wait: Omit<WaitOptions, 'stream'> = {}
  ): Promise<string> => {
    const found = await this.find((text) => match.test(text), { what: String(match), ...wait, stream })
    return found.line.text
  }

  readonly json = async <T = Record<string, any>>(
    pred: (v: T) => boolean = () => true,
    wait: Omit<WaitOptions, 'stream'> = {}
  ): Promise<T> => {
    const found = await this.find((text) => parseJson(text, pred), {
      what: 'the JSON line awaited',
      ...wait,
      stream: 'stdout'
    })
    return found.match
  }

  readonly write = (text: string): void => void this.child.stdin?.write(text)

  readonly kill = (signal: NodeJS.Signals = 'SIGTERM'): void => {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
  }

  private feed(line: Line, partial: boolean): void {
    for (const w of this.waiters) {
      if (partial && !w.partial) continue
      const match = w.test(line)
      if (match) this.settle(w).resolve({ line, match })
    }
  }

  /** Once: the last partial lines are kept and matched, then every wait still open fails. */
  private ended(code: number | string): number | string {
    if (this.code !== undefined) return this.code
    this.output.flush()
    this.code = code
    for (const w of this.waiters) {
      const message = `${this.name} exited (${code}) before printing ${w.what}\n--- stderr ---\n${this.tail()}`
      this.settle(w).reject(new Error(message))
    }
    return code
  }

  private settle(w: Waiter): Waiter {
    this.waiters.delete(w)
    clearTimeout(w.timer)
    return w
  }

  private tail(): string {
    return this.output.text('stderr').slice(-3000)
  }
}

/** A child's output as lines per stream (bounded by keepLines), with the partial line of each. */
class Output {
  readonly lines: Record<Stream, Line[]> = { stdout: [], stderr: [] }
  private readonly partial: Record<Stream, string> = { stdout: '', stderr: '' }
  /** The stream ended without a newline: its last line is kept, but text() must not add one. */
  private readonly unterminated: Record<Stream, boolean> = { stdout: false, stderr: false }
  private readonly listeners = new Set<(line: Line) => void>()
  private readonly partialListeners = new Set<(line: Line) => void>()

  constructor(
    child: ChildProcess,
    private readonly opts: SpawnOptions
  ) {
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream]!.setEncoding('utf8')
      child[stream]!.on('data', (chunk: string) => this.add(stream, chunk))
    }
  }

  /** The first line kept (stdout before stderr; with `partial`, then the one being printed) that `check` takes. */
  search(stream: Stream | 'any', check: (line: Line) => unknown, partial: boolean): Found<unknown> | undefined {
    for (const s of stream === 'any' ? (['stdout', 'stderr'] as const) : [stream]) {
      const open = partial && this.partial[s] ? [{ text: this.partial[s], stream: s, at: this.now() }] : []
      for (const line of [...this.lines[s], ...open]) {
        const match = check(line)
        if (match) return { line, match }
      }
    }
    return undefined
  }

  add(stream: Stream, chunk: string): void {
    const at = this.now()
    const parts = (this.partial[stream] + chunk).split('\n')
    this.partial[stream] = parts.pop() as string
    for (const text of parts) this.keep({ text, stream, at })
    const open = this.partial[stream]
    if (open) for (const listener of [...this.partialListeners]) listener({ text: open, stream, at })
  }

  /** The last line of each stream, printed without a newline, once the process has ended. */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const text = this.partial[stream]
      this.partial[stream] = ''
      if (!text) continue
      this.unterminated[stream] = this.keep({ text, stream, at: this.now() })
    }
  }

  /** Keeps a line (unless mapLine drops it) and tells the listeners; whether it was kept. */
  private keep(raw: Line): boolean {
    const line = this.opts.mapLine ? this.opts.mapLine(raw) : raw
    if (!line) return false
    const kept = this.lines[line.stream]
    kept.push(line)
    // Dropping a fifth at a time keeps the cost of trimming small per line.
    const max = this.opts.keepLines ?? Infinity
    if (kept.length > max) kept.splice(0, kept.length - Math.floor(max * 0.8))
    for (const listener of [...this.listeners]) listener(line)
    return true
  }

  onLine(listener: (line: Line) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  onPartial(listener: (line: Line) => void): void {
    this.partialListeners.add(listener)
  }

  private now(): number {
    return performance.timeOrigin + performance.now()
  }

  text(stream: Stream): string {
    const text = this.lines[stream].map((l) => `${l.text}\n`).join('') + this.partial[stream]
    return this.unterminated[stream] ? text.slice(0, -1) : text
  }
}
