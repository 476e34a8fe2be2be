// The session's bin holds V8's young generation at its first size before it loads the command
// (src/young-generation.ts says why: a download's buffers are then freed by scavenges, not by
// mark-compacts). Judged on the built bin: its young generation after `--help`, beside the same
// command (its bundle) loaded without the bin in front of it, whose loading alone grows the
// generation.

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'

const dist = (file: string) => fileURLToPath(new URL(`../dist/${file}`, import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'young-generation-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The new space's size (bytes) when `script --help` exits, read by a preload in the same process. */
function youngGeneration(script: string): number {
  const preload = join(dir, 'report.mjs')
  writeFileSync(
    preload,
    "import v8 from 'node:v8'\n" +
      "process.on('exit', () => process.stderr.write('new_space=' + " +
      "v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size + '\\n'))\n"
  )
  const run = spawnSync(process.execPath, [`--import=${preload}`, script, '--help'], { encoding: 'utf8' })
  expect(run.status).toBe(0)
  return Number(/new_space=(\d+)/.exec(run.stderr)?.[1])
}

test('the bin keeps the young generation at its first size while the command loads and runs', () => {
  const held = youngGeneration(dist('bin.js'))
  const grown = youngGeneration(dist('bundle/main.js'))
  expect(held).toBeGreaterThan(0)
  expect(grown).toBeGreaterThan(held)
})
