// Spawning the real bins in end-to-end tests (spawnProcess, with a throwaway HOME and an identity
// of their own), and ending every one of them that a test left running.

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnProcess, type Proc } from './process.js'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

export const BINS = {
  agent: `${ROOT}apps/agent/dist/bin.js`,
  session: `${ROOT}apps/session/dist/bin.js`,
  job: `${ROOT}apps/job/dist/bin.js`,
  trust: `${ROOT}apps/trust/dist/bin.js`,
  relay: `${ROOT}apps/relay/dist/bin.js`,
  devnet: `${ROOT}packages/devnet/network/dist/bin.js`
} as const

export type BinName = keyof typeof BINS

const running = new Set<Proc>()
let home: string | null = null
let spawned = 0

/** Tests never touch the user's keys file: bins run with a throwaway HOME and working directory. */
export function testHome(): string {
  home ??= mkdtempSync(join(tmpdir(), '2020117-home-'))
  return home
}

/** Spawns a built bin (node dist/bin.js) with a throwaway HOME; killAll() ends it if the test does not. */
export function spawnBin(
  name: BinName,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore' } = {}
): Proc {
  // Each bin its own identity unless the test names one: two agents must not share a swarm key.
  const proc = spawnProcess(process.execPath, [BINS[name], ...args], {
    name,
    cwd: opts.cwd ?? testHome(),
    env: { ...process.env, HOME: testHome(), KEYS_AGENT: `${name}-${++spawned}`, ...opts.env },
    stdin: opts.stdin ?? 'ignore'
  })
  running.add(proc)
  void proc.exited.then(() => running.delete(proc))
  return proc
}

/** Kills every bin still running (for afterEach/afterAll), and waits for them to exit. */
export async function killAll(): Promise<void> {
  const procs = [...running]
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
}
