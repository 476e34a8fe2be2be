#!/usr/bin/env node
// Bundles the customer CLIs' compiled code and dependencies into one file each (esbuild), after
// `tsc -b`: `pnpm build`, `npm test` and the tests' global setup run it. Why: Node 20 resolves,
// reads and compiles each of the ~210 modules behind 2020117-session one at a time, about 170 ms of
// its start-up before it can dial a provider (2020117-job: ~150 ms before it posts a job); one file
// loads in a fraction of that, and Node 20 has no module compile cache to do it for us. The agent
// is left as it is: it starts once and runs for days. Left out of a bundle, and loaded from
// node_modules as usual: packages that find files beside themselves at run time (native addons)
// and the NWC SDK (EXTERNAL says why). Those are dependencies of the app itself, so that they resolve from the
// bundle's folder. Workers are bundled as entries of their own beside it.
//   node scripts/bundle.mjs

import { build } from 'esbuild'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The bundled CLIs: each app's dist/main.js, and the proof-of-work worker beside it. */
export const BUNDLES = ['session', 'job'].map((app) => ({
  outdir: `apps/${app}/dist/bundle`,
  entries: { main: `apps/${app}/dist/main.js`, 'pow-worker': 'packages/nostr/dist/pow-worker.js' }
}))

/**
 * Resolved at run time beside the bundle, not bundled (see the top of this file). @getalby/sdk too:
 * the wallet tells the SDK's console output from everyone else's by the file of the caller's frame
 * (packages/wallet/src/sdk-log.ts), which inside a bundle would be the bundle, and its stack traces
 * would reach the terminal. It loads only when a wallet is opened, and it ships as one file anyway.
 */
export const EXTERNAL = ['sodium-native', 'udx-native', '@getalby/sdk']

// CommonJS dependencies call require(); an ES module bundle has none unless it makes one.
const banner =
  "import { createRequire as createRequire2020117 } from 'node:module'\nconst require = createRequire2020117(import.meta.url)"

export async function bundleAll() {
  for (const b of BUNDLES) {
    const { outputFiles } = await build({
      absWorkingDir: root,
      entryPoints: b.entries,
      outdir: b.outdir,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: EXTERNAL,
      banner: { js: banner },
      legalComments: 'none',
      logLevel: 'warning',
      write: false
    })
    for (const file of outputFiles) writeIfChanged(file.path, file.contents)
  }
}

/**
 * A bundle is replaced only when it changed, and whole (written beside it, then renamed): a bin
 * starting meanwhile, say in a test run beside this build, never reads half a file.
 */
function writeIfChanged(path, contents) {
  if (existsSync(path) && Buffer.compare(readFileSync(path), contents) === 0) return
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, contents)
  renameSync(tmp, path)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundleAll()
