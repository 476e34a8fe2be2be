#!/usr/bin/env node
// Packs the published packages into DIR, ready for a plain `npm install` there (README "Install",
// until the packages are on the registry): DIR/tarballs/ holds one tarball per package (pnpm pack
// rewrites `workspace:` versions), and DIR/package.json asks for 2020117-agent and 2020117-devnet with
// `overrides` pointing every internal @2020117/* package at its tarball, since npm would otherwise
// look them up on the registry. Run it after a build (`npm test` or `pnpm build`).
//   node scripts/pack.mjs DIR && cd DIR && npm install && ./node_modules/.bin/2020117-agent --help

import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The packages a user or developer installs, and everything they depend on at run time. */
export const PUBLISHED = [
  'protocol',
  'packages/files',
  'packages/cli',
  'packages/swarm',
  'packages/tunnel',
  'packages/http1',
  'packages/wallet',
  'packages/nostr',
  'packages/jobs',
  'packages/blossom',
  'packages/zaps',
  'packages/reputation',
  'packages/relay',
  'apps/agent',
  'apps/session',
  'apps/job',
  'apps/trust',
  'packages/2020117-agent',
  'apps/relay',
  'packages/2020117-relay',
  'packages/devnet/devwallet',
  'packages/devnet/webui',
  'packages/devnet/blossom',
  'packages/devnet/lnurl',
  'packages/devnet/network',
  'packages/devnet/2020117-devnet'
]

/** What DIR asks for, as a user would: 2020117-agent (its four bins), 2020117-relay, and the local network for developers. */
export const TOP = ['2020117-agent', '2020117-relay', '2020117-devnet']

/** The pnpm running us (npm_execpath), the pinned one on PATH, or the pinned one through npx. */
function pnpmCommand() {
  const exec = process.env.npm_execpath
  if (exec && /pnpm/.test(exec)) return /\.[cm]?js$/.test(exec) ? [process.execPath, exec] : [exec]
  const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' })
  return probe.status === 0 && probe.stdout.trim() === pinned.split('@')[1] ? ['pnpm'] : ['npx', '--yes', pinned]
}

/** Packs every published package into DIR/tarballs and writes DIR/package.json; returns name -> tarball. */
export function packAll(dir) {
  const [pnpm, ...pre] = pnpmCommand()
  const tarballs = new Map()
  for (const pkg of PUBLISHED) {
    // One folder each: @2020117/agent and 2020117-agent both pack as 2020117-agent-0.1.0.tgz.
    const dest = join(resolve(dir), 'tarballs', pkg.replaceAll('/', '_'))
    mkdirSync(dest, { recursive: true })
    execFileSync(pnpm, [...pre, 'pack', '--pack-destination', dest], { cwd: join(root, pkg), stdio: 'ignore' })
    const name = JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')).name
    tarballs.set(
      name,
      join(
        dest,
        readdirSync(dest).find((f) => f.endsWith('.tgz'))
      )
    )
  }
  const file = (name) => `file:${tarballs.get(name)}`
  const internal = [...tarballs.keys()].filter((n) => !TOP.includes(n))
  const manifest = {
    private: true,
    dependencies: Object.fromEntries(TOP.map((n) => [n, file(n)])),
    overrides: Object.fromEntries(internal.map((n) => [n, file(n)]))
  }
  writeFileSync(join(resolve(dir), 'package.json'), JSON.stringify(manifest, null, 2) + '\n')
  return tarballs
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2]
  if (!dir) {
    console.error('usage: node scripts/pack.mjs DIR   (then: cd DIR && npm install)')
    process.exit(2)
  }
  const tarballs = packAll(dir)
  console.error(`packed ${tarballs.size} packages into ${resolve(dir)}: now cd there and run npm install`)
}
