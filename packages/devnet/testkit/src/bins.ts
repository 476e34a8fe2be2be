// Spawning the real bins in end-to-end tests, and waiting on what they print: tests synchronise on
// output lines and exit events, never on sleeps.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

export const BINS = {
  agent: `${ROOT}apps/agent/dist/bin.js`,
  session: `${ROOT}apps/session/dist/bin.js`,
  job: `${ROOT}apps/job/dist/bin.js`,
  devnet: `${ROOT}packages/devnet/network/dist/bin.js`
} as const

export type BinName = keyof typeof BINS

export interface Proc {
  child: ChildProcess
  pid: number
  /** Everything printed so far. */
  stdout(): string
  stderr(): string
  /**
   * Resolves with the first stdout/stderr line matching, including lines already printed unless
   * `fresh` (then only lines printed from now on: what happened after the test did something).
   */
  line(match: RegExp, stream?: 'stdout' | 'stderr' | 'any', opts?: { fresh?: boolean }): Promise<string>
  /** Resolves with the first stdout line that is JSON and satisfies the predicate. */
  json<T = Record<string, any>>(pred?: (v: T) => boolean): Promise<T>
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>
  write(text: string): void
  kill(signal?: NodeJS.Signals): void
}

const running = new Set<Proc>()
let home: string | null = null
let spawned = 0

/** Tests never touch the user's keys file: bins run with a throwaway HOME and working directory. */
export function testHome(): string {
  home ??= mkdtempSync(join(tmpdir(), '2020117-home-'))
  return home
}

export function spawnBin(
  name: BinName,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore' } = {}
): Proc {
  // Each bin its own identity unless the test names one: two agents must not share a swarm key.
  const child = spawn(process.execPath, [BINS[name], ...args], {
    cwd: opts.cwd ?? testHome(),
    env: { ...process.env, HOME: testHome(), KEYS_AGENT: `${name}-${++spawned}`, ...opts.env },
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe']
  })
  const out = { stdout: '', stderr: '' }
  const waiters: Array<{
    test: (line: string, stream: 'stdout' | 'stderr') => boolean
    resolve: (line: string) => void
  }> = []
  const feed = (stream: 'stdout' | 'stderr') => {
    let partial = ''
    child[stream]!.setEncoding('utf8')
    child[stream]!.on('data', (chunk: string) => {
      out[stream] += chunk
      partial += chunk
      const lines = partial.split('\n')
      partial = lines.pop() as string
      for (const line of lines) {
        for (const w of [...waiters]) {
          if (w.test(line, stream)) {
            waiters.splice(waiters.indexOf(w), 1)
            w.resolve(line)
          }
        }
      }
    })
  }
  feed('stdout')
  feed('stderr')
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1))
  )
  const proc: Proc = {
    child,
    pid: child.pid as number,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    line(match, stream = 'any', opts = {}) {
      const ok = (l: string, s: 'stdout' | 'stderr') => (stream === 'any' || s === stream) && match.test(l)
      for (const s of opts.fresh ? [] : (['stdout', 'stderr'] as const)) {
        const hit = out[s].split('\n').find((l) => ok(l, s))
        if (hit !== undefined) return Promise.resolve(hit)
      }
      return new Promise((resolve, reject) => {
        waiters.push({ test: ok, resolve })
        void exited.then((code) =>
          reject(
            new Error(`${name} exited (${code}) before printing ${match}\n--- stderr ---\n${out.stderr.slice(-3000)}`)
          )
        )
      })
    },
    async json<T>(pred: (v: T) => boolean = () => true): Promise<T> {
      const parse = (l: string): T | null => {
        try {
          const v = JSON.parse(l) as T
          return v && typeof v === 'object' && pred(v) ? v : null
        } catch {
          return null
        }
      }
      const line = await proc.line({ test: (l: string) => parse(l) !== null } as RegExp, 'stdout')
      return parse(line) as T
    },
    exited,
    write: (text) => child.stdin?.write(text),
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    }
  }
  running.add(proc)
  void exited.then(() => running.delete(proc))
  return proc
}

/** Kills every bin still running (for afterEach/afterAll), and waits for them to exit. */
export async function killAll(): Promise<void> {
  const procs = [...running]
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
}
