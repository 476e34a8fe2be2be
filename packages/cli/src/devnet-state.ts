// The devnet state file, read side: how 2020117-agent and 2020117-session find a local network
// (`--devnet[=DIR]`). The product owns this reader and the file's format, so that a provider who installs
// 2020117-agent installs no part of the local network: 2020117-devnet writes `DIR/devnet.json` in
// exactly this shape (0600, atomically, since it holds the play-money wallet's NWC secrets), and
// the bins only read it.

import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { CliError } from './errors.js'

export const DEFAULT_DEVNET_DIR = '.2020117-devnet'
export const STATE_FILE = 'devnet.json'

/**
 * `DIR/devnet.json`, version 2: snake_case keys, like every bin's JSON (version 1 was camelCase).
 * Fields a reader does not know are ignored; a file of another version is refused.
 */
export interface DevnetState {
  version: 2
  /** The devnet process while it runs; null once it stopped cleanly. */
  pid: number | null
  /** When it started, ISO 8601. */
  started_at: string
  network: 'regtest'
  /** The HyperDHT bootstrap nodes, on 127.0.0.1. */
  bootstrap: Array<{ host: string; port: number }>
  /** The Nostr relays (ws:// URLs). */
  relays: string[]
  /** The demo WebUI's origin, or null when it was not started. */
  webui: string | null
  /** The Blossom blob server's origin (BUD-01/02), or null when it was not started. */
  blossom: string | null
  /**
   * The Lightning-address server (LUD-16, NIP-57 zaps) and the key its zap receipts are signed by,
   * or null when it was not started. Absent from files written before it existed: read as null.
   */
  lnurl?: { url: string; nostr_pubkey: string } | null
  /** The devnet's control endpoint (account creation), or null. */
  control: { url: string; token: string } | null
  /**
   * By account name: the NWC connection URI of the play-money wallet, and the account's Lightning
   * address (`NAME@127.0.0.1:PORT`) when the Lightning-address server runs.
   */
  accounts: Record<string, { nwc_uri: string; lud16?: string }>
}

export function statePath(dir: string): string {
  return join(resolve(dir), STATE_FILE)
}

/** Reads the state file, or explains how to start the devnet when there is none. */
export async function readState(dir: string = DEFAULT_DEVNET_DIR): Promise<DevnetState> {
  const path = statePath(dir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw CliError.NO_DEVNET(path)
    throw err
  }
  let state: DevnetState
  try {
    state = JSON.parse(text) as DevnetState
  } catch {
    throw CliError.STATE_CORRUPT(path)
  }
  // Another version (1 spelled its keys in camelCase) would read as missing values: the devnet that
  // wrote it must be restarted, which rewrites the file.
  if (state?.version !== 2 || !Array.isArray(state.bootstrap) || !Array.isArray(state.relays))
    throw CliError.STATE_CORRUPT(path)
  if (!validLnurl(state.lnurl)) throw CliError.STATE_CORRUPT(path)
  return { ...state, lnurl: state.lnurl ?? null }
}

function validLnurl(lnurl: unknown): boolean {
  if (lnurl === undefined || lnurl === null) return true
  const { url, nostr_pubkey } = lnurl as Record<string, unknown>
  return typeof url === 'string' && typeof nostr_pubkey === 'string' && /^[0-9a-f]{64}$/.test(nostr_pubkey)
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
  if (!isRunning(state)) throw CliError.NOT_RUNNING(dir)
  return state
}
