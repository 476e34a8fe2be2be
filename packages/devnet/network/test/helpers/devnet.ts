// A whole local network in this process, in a fresh temp dir, on ports the OS picks.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDevnet, type Devnet, type DevnetOptions } from '../../src/index.js'

export async function tempDir(prefix = 'devnet-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true })
}

/** startDevnet with every port 0 and a 1 ms WebUI step delay; log lines go to `log`. */
export function startTestDevnet(dir: string, log: string[], extra: Partial<DevnetOptions> = {}): Promise<Devnet> {
  return startDevnet({
    dir,
    dhtPort: 0,
    relayPort: 0,
    webuiPort: 0,
    webuiStepDelayMs: 1,
    log: (line) => log.push(line),
    ...extra
  })
}

/** The `secret` of an NWC URI (what must never be printed). */
export function nwcSecret(uri: string): string {
  const secret = new URL(uri.replace(/^nostr\+walletconnect:/, 'http:')).searchParams.get('secret')
  if (!secret) throw new Error('NWC URI without a secret')
  return secret
}
