// The devnet state file: how the agent and session CLIs find the local network (`--devnet[=DIR]`).
// It holds NWC secrets of the local play-money wallet, so it is written 0600, atomically.

import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from '@2020117/cli'
import { DevnetError } from './errors.js'

export const DEFAULT_DEVNET_DIR = '.2020117-devnet'
export const STATE_FILE = 'devnet.json'

export interface DevnetState {
  version: 1
  /** The devnet process while it runs; null once it stopped cleanly. */
  pid: number | null
  startedAt: string
  network: 'regtest'
  bootstrap: Array<{ host: string; port: number }>
  relays: string[]
  webui: string | null
  control: { url: string; token: string } | null
  accounts: Record<string, { nwcUri: string }>
}

export function statePath(dir: string): string {
  return join(resolve(dir), STATE_FILE)
}

export async function writeState(dir: string, state: DevnetState): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFileAtomic(statePath(dir), JSON.stringify(state, null, 2) + '\n')
}

/** Reads the state file, or explains how to start the devnet when there is none. */
export async function readState(dir: string = DEFAULT_DEVNET_DIR): Promise<DevnetState> {
  const path = statePath(dir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw DevnetError.NO_DEVNET(path)
    throw err
  }
  let state: DevnetState
  try {
    state = JSON.parse(text) as DevnetState
  } catch {
    throw DevnetError.STATE_CORRUPT(path)
  }
  if (state?.version !== 1 || !Array.isArray(state.bootstrap) || !Array.isArray(state.relays))
    throw DevnetError.STATE_CORRUPT(path)
  return state
}

/** Whether the devnet that wrote the state is still running. */
export function isRunning(state: DevnetState): boolean {
  if (state.pid === null) return false
  try {
    process.kill(state.pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Like readState, but also requires the devnet to be up. */
export async function readRunningState(dir: string = DEFAULT_DEVNET_DIR): Promise<DevnetState> {
  const state = await readState(dir)
  if (!isRunning(state)) throw DevnetError.NOT_RUNNING(dir)
  return state
}
