import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

// End-to-end tests spawn the compiled bins: make sure dist/ and the bundles match the sources
// (`pnpm build`: tsc -b, then scripts/bundle.mjs).
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-b'], { cwd: root, stdio: 'inherit' })
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { cwd: root, stdio: 'inherit' })
}
