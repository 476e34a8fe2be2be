#!/usr/bin/env node
// The entry behind the README's two commands, `npm test` and `npm run demo`. A fresh machine has
// only Node 20 and npm, so this finds (or fetches) the pinned pnpm, installs the workspace from the
// lockfile, builds it, and then runs the tests or the demo. Extra arguments go to vitest / the demo.

import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { nodeHeadersEnv } from './lib/node-headers.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const [task, ...rest] = process.argv.slice(2)
const pinned = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).packageManager // pnpm@x.y.z
const pinnedVersion = pinned.split('@')[1]

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
  if (r.error) throw r.error
  if (r.status !== 0) process.exit(r.status ?? 1)
}

function pnpmCommand() {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' })
  if (probe.status === 0 && probe.stdout.trim() === pinnedVersion) return ['pnpm']
  console.error(
    `[2020117] using ${pinned} through npx (installed pnpm: ${probe.status === 0 ? probe.stdout.trim() : 'none'})`
  )
  return ['npx', '--yes', pinned]
}

/** The browser test drives Debian's Chromium; install it where we can (root with apt-get). */
function ensureChromium() {
  if (process.env.CHROMIUM_PATH || spawnSync('sh', ['-c', 'command -v chromium']).status === 0) return
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) {
    console.error("[2020117] no Chromium: the browser test will fail. Install Debian's chromium, or set CHROMIUM_PATH.")
    return
  }
  console.error('[2020117] installing Debian chromium for the browser test …')
  run('apt-get', ['update', '-qq'])
  run('apt-get', ['install', '-y', '-qq', 'chromium'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

// better-sqlite3 (the relay's storage) builds from source here: point node-gyp at Node's headers.
process.env = { ...process.env, ...nodeHeadersEnv() }

const [pnpm, ...pnpmArgs] = pnpmCommand()
const p = (...args) => run(pnpm, [...pnpmArgs, ...args])

switch (task) {
  case 'test': {
    ensureChromium()
    p('install', '--frozen-lockfile')
    // The format is part of the test: a file prettier would change fails the run (`pnpm format`).
    p('exec', 'prettier', '--check', '--log-level=warn', '.')
    p('run', 'build')
    const report = `${root}test-artifacts/vitest.json`
    rmSync(report, { force: true })
    const r = spawnSync(
      pnpm,
      [
        ...pnpmArgs,
        'exec',
        'vitest',
        'run',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${report}`,
        ...rest
      ],
      {
        cwd: root,
        stdio: 'inherit'
      }
    )
    // One plain closing line that any CI can read, whatever vitest printed above it.
    if (existsSync(report)) {
      const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(report, 'utf8'))
      console.log(
        `\ntests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped`
      )
    }
    process.exit(r.status ?? 1)
  }
  case 'demo':
    p('install', '--frozen-lockfile')
    p('run', 'build')
    run(process.execPath, ['scripts/demo.mjs', ...rest])
    break
  default:
    console.error('usage: node scripts/run.mjs test|demo [args...]')
    process.exit(2)
}
