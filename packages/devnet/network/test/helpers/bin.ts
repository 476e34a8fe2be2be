// Spawning the built 2020117-devnet bin (dist/bin.js, rebuilt by the root global setup) with
// spawnProcess from @2020117/testkit, and waiting on what it prints. Every process spawned here is
// remembered, and killAll() ends the ones still running: call it from afterAll/afterEach so that
// no test leaves one behind.

import { fileURLToPath } from 'node:url'
import { spawnProcess, type Proc } from '@2020117/testkit'

export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url))

const running = new Set<BinProcess>()

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A spawned bin, its output so far, and promises for what it prints and for its exit. */
export class BinProcess {
  readonly proc: Proc
  /** Settles once the process has exited and all of its output has been read. */
  readonly exited: Promise<Exit>

  constructor(args: string[]) {
    // The DEVNET_* variables would change the bin's defaults; tests say everything explicitly.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DEVNET_')))
    this.proc = spawnProcess(process.execPath, [BIN, ...args], { name: '2020117-devnet', env })
    running.add(this)
    this.exited = this.proc.exited.then(() => {
      running.delete(this)
      return { code: this.child.exitCode, signal: this.child.signalCode }
    })
  }

  get child() {
    return this.proc.child
  }

  get stdout(): string {
    return this.proc.stdout()
  }

  get stderr(): string {
    return this.proc.stderr()
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`could not spawn ${BIN}`)
    return this.child.pid
  }

  /** SIGKILLs this process if it still runs, and waits until it is gone. */
  async kill(): Promise<void> {
    this.proc.kill('SIGKILL')
    await this.exited
  }

  /** Resolves with the first complete stdout line; rejects if the process exits before one. */
  firstStdoutLine(): Promise<string> {
    return this.proc.line(/^/, 'stdout', { what: 'a line on stdout' })
  }

  /** Resolves with what matched once a stderr line matches; rejects if the process exits first. */
  async stderrMatching(pattern: RegExp): Promise<string> {
    const found = await this.proc.find((line) => pattern.exec(line)?.[0], { stream: 'stderr', what: String(pattern) })
    return found.match
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
  await Promise.all([...running].map((bin) => bin.kill()))
}
