// The devnet state file, write side. Its format and reader belong to the product
// (`@2020117/cli/devnet-state`), so that the bins read it without installing the local network; the
// devnet writes exactly that shape. It holds NWC secrets of the local play-money wallet, so it is
// written 0600, atomically.

import { randomBytes } from 'node:crypto'
import { chmod, mkdir, open, rename } from 'node:fs/promises'
import { statePath, type DevnetState } from '@2020117/cli/devnet-state'

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
  const path = statePath(dir)
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(JSON.stringify(state, null, 2) + '\n')
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, path)
  await chmod(path, 0o600)
}
