// The devnet state file, write side. Its format and reader belong to the product
// (`@2020117/cli/devnet-state`), so that the bins read it without installing the local network; the
// devnet writes exactly that shape. It holds NWC secrets of the local play-money wallet, so it is
// written 0600, atomically.

import { mkdir } from 'node:fs/promises'
import { statePath, type DevnetState } from '@2020117/cli/devnet-state'
import { writeFileAtomic } from '@2020117/files'

export {
  DEFAULT_DEVNET_DIR,
  STATE_FILE,
  statePath,
  readState,
  readRunningState,
  isRunning,
  type DevnetState
} from '@2020117/cli/devnet-state'

export async function writeState(dir: string, state: DevnetState): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFileAtomic(statePath(dir), JSON.stringify(state, null, 2) + '\n')
}
