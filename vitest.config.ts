import { defineConfig } from 'vitest/config'

// Workspace packages resolve to their TypeScript sources (the `source` export condition), so unit
// tests never run against a stale dist/. End-to-end tests spawn the built bins; the global setup
// runs `tsc -b` first so that those are fresh too.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: [
      'protocol/test/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'packages/devnet/*/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'scripts/test/**/*.test.ts'
    ],
    globalSetup: ['./scripts/test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default']
  }
})
