// The test's side of jobs/fixtures/hold.sh: a fifo that holds the processor until released.

import { execFileSync } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const HOLD_SCRIPT = fileURLToPath(new URL('../jobs/fixtures/hold.sh', import.meta.url))

export class Hold {
  readonly fifo = join(mkdtempSync(join(tmpdir(), '2020117-hold-')), 'hold')

  /** From now on the processor waits for release(). */
  arm(): void {
    execFileSync('mkfifo', [this.fifo])
  }

  /** Lets one waiting processor go on, and stops holding the next ones. */
  async release(): Promise<void> {
    await writeFile(this.fifo, 'go\n')
    await rm(this.fifo, { force: true })
  }

  async disarm(): Promise<void> {
    await rm(this.fifo, { force: true })
  }
}
