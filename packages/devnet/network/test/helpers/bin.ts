// Spawning the built 2020117-devnet bin (dist/bin.js, rebuilt by the root global setup) and
// waiting on what it prints. Every process spawned here is remembered, and killAll() ends the
// ones still running: call it from afterAll/afterEach so that no test leaves one behind.

import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url))

const running = new Set<ChildProcess>()

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A spawned bin, its output so far, and promises for what it prints and for its exit. */
export class BinProcess {
  readonly child: ChildProcess
  stdout = ''
  stderr = ''
  readonly exited: Promise<Exit>
  private readonly watchers: Array<() => void> = []

  constructor(args: string[]) {
    // The DEVNET_* variables would change the bin's defaults; tests say everything explicitly.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DEVNET_')))
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    running.add(this.child)
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk
      this.notify()
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk
      this.notify()
    })
    this.exited = new Promise<Exit>((resolve, reject) => {
      this.child.once('error', (err) => {
        running.delete(this.child)
        reject(err)
        this.notify()
      })
      // 'close' comes after both pipes have ended, so stdout and stderr are complete by then.
      this.child.once('close', (code, signal) => {
        running.delete(this.child)
        resolve({ code, signal })
        this.notify()
      })
    })
    this.exited.catch(() => undefined)
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`could not spawn ${BIN}`)
    return this.child.pid
  }

  /** SIGKILLs this process if it still runs, and waits until it is gone. */
  async kill(): Promise<void> {
    if (running.has(this.child)) this.child.kill('SIGKILL')
    await this.exited.catch(() => undefined)
  }

  /** Resolves with the first complete stdout line; rejects if the process exits before one. */
  firstStdoutLine(): Promise<string> {
    return this.until('a line on stdout', () => {
      const end = this.stdout.indexOf('\n')
      return end >= 0 ? this.stdout.slice(0, end) : undefined
    })
  }

  /** Resolves once stderr matches; rejects if the process exits first. */
  stderrMatching(pattern: RegExp): Promise<string> {
    return this.until(`stderr matching ${pattern}`, () => pattern.exec(this.stderr)?.[0])
  }

  private until<T>(what: string, check: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const poll = (): boolean => {
        const value = check()
        if (value !== undefined) {
          resolve(value)
          return true
        }
        // Not running any more, and (after 'close') all of its output has been read.
        if (!running.has(this.child)) {
          reject(
            new Error(
              `2020117-devnet exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}; stderr: ${this.stderr.slice(-2000)}`
            )
          )
          return true
        }
        return false
      }
      if (poll()) return
      const watcher = (): void => {
        if (poll()) this.watchers.splice(this.watchers.indexOf(watcher), 1)
      }
      this.watchers.push(watcher)
    })
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher()
  }
}

export function startBin(args: string[]): BinProcess {
  return new BinProcess(args)
}

/** Runs the bin to completion. */
export async function runBin(args: string[]): Promise<Exit & { stdout: string; stderr: string }> {
  const bin = new BinProcess(args)
  const exit = await bin.exited
  return { ...exit, stdout: bin.stdout, stderr: bin.stderr }
}

/** SIGKILLs every spawned bin still running and waits until each is gone. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('close', () => resolve())
          child.kill('SIGKILL')
        })
    )
  )
  running.clear()
}
