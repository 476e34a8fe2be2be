// Shared by the processor tests: the fixtures' paths, limits, and a check that a process is gone.

import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { JobWork, RunLimits } from '../../src/processors/index.js'

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
export const example = (name: string): string => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url))

export function work(overrides: Partial<JobWork> = {}): JobWork {
  return { kind: 5302, input: '', inputType: 'text', params: {}, ...overrides }
}

export function limits(overrides: Partial<RunLimits> = {}): RunLimits {
  return { signal: new AbortController().signal, timeoutMs: 20_000, maxOutputBytes: 1024 * 1024, ...overrides }
}

/** Alive and not a zombie: a killed process whose parent died stays a zombie until init reaps it. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/**
 * SIGKILL is delivered asynchronously: a process sent it may take a moment to die. Checks its pid
 * until it is gone or `attempts` checks (10 ms apart) have passed; true when it is gone.
 */
export async function gone(pid: number, attempts = 500): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (!isRunning(pid)) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

export const text = (data: Uint8Array): string => new TextDecoder().decode(data)
