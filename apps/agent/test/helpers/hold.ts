// The test's side of jobs/fixtures/hold.sh: a fifo that holds the processor until released.

import { execFileSync } from 'node:child_process'
import { constants } from 'node:fs'
import { open, rm, writeFile } from 'node:fs/promises'
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

  /**
   * After the agent died: lets a processor it left behind go on if one waits on the fifo, without
   * waiting for one (the agent may have died before it started its processor), and stops holding.
   */
  async abandon(): Promise<void> {
    try {
      const fh = await open(this.fifo, constants.O_WRONLY | constants.O_NONBLOCK)
      await fh.write('go\n').finally(() => fh.close())
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err // ENXIO: nobody is reading
    }
    await rm(this.fifo, { force: true })
  }

  async disarm(): Promise<void> {
    await rm(this.fifo, { force: true })
  }
}
