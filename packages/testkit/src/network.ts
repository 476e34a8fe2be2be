// The local network for end-to-end tests: the devnet in this process, on free ports, in a temp dir.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDevnet, type Devnet } from '@2020117/devnet'

export interface TestNetwork {
  devnet: Devnet
  dir: string
  /** `--devnet=<dir>`, for the bins. */
  flag: string
  balanceMsat(account: string): number
  close(): Promise<void>
}

export async function startTestNetwork(opts: { webuiStepDelayMs?: number } = {}): Promise<TestNetwork> {
  const dir = await mkdtemp(join(tmpdir(), '2020117-test-'))
  const devnet = await startDevnet({ dir, dhtPort: 0, relayPort: 0, webuiPort: 0, webuiStepDelayMs: opts.webuiStepDelayMs ?? 5 })
  return {
    devnet,
    dir,
    flag: `--devnet=${dir}`,
    balanceMsat: (account) => devnet.wallet.balance(account),
    async close() {
      await devnet.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
