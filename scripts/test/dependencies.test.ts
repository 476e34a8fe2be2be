// The product does not depend on the local network. The local network (devwallet, webui, lnurl,
// devnet, testkit) lives in packages/devnet/*, its own workspace glob; everything else (protocol/,
// packages/*, apps/*) is the product that users install. A product package may use the local network
// in its tests (devDependencies), never at run time: `dependencies`, `optionalDependencies` and
// `peerDependencies` must not name a local-network package, or installing 2020117-agent would
// install the play-money wallet, the Lightning-address server and the demo WebUI too. (The relay is
// product: the network runs 2020117-relay, and the local network starts the same one.)
//
// And code reaches another package by its name, never by a relative path into its folder: a test
// that imports `../../wallet/test/invoices.js` depends on a file its package never declared, which
// breaks as soon as that folder moves or the package is installed from a registry.

import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const LOCAL_NETWORK_DIR = 'packages/devnet'
const RUNTIME_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const

interface Manifest {
  name: string
  dir: string
  [field: string]: unknown
}

function manifestsIn(dir: string): Manifest[] {
  const abs = join(root, dir)
  if (!existsSync(abs)) return []
  return readdirSync(abs, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(abs, e.name, 'package.json')))
    .map((e) => ({ ...JSON.parse(readFileSync(join(abs, e.name, 'package.json'), 'utf8')), dir: `${dir}/${e.name}` }))
}

function manifestAt(dir: string): Manifest[] {
  const path = join(root, dir, 'package.json')
  return existsSync(path) ? [{ ...JSON.parse(readFileSync(path, 'utf8')), dir }] : []
}

// A folder directly under packages/ with a package.json of its own counts as local network when it is
// packages/devnet itself (the layout before the split), so that the test reads both layouts.
const localNetwork = [...manifestAt(LOCAL_NETWORK_DIR), ...manifestsIn(LOCAL_NETWORK_DIR)]
const product = [
  ...manifestAt('protocol'),
  ...manifestsIn('packages').filter((m) => m.dir !== LOCAL_NETWORK_DIR),
  ...manifestsIn('apps')
]

describe('the product apart from the local network', () => {
  test('the local network is the packages under packages/devnet/, its own workspace glob', () => {
    expect(localNetwork.map((m) => m.dir).sort()).toEqual(
      ['2020117-devnet', 'blossom', 'devwallet', 'lnurl', 'network', 'testkit', 'webui'].map(
        (d) => `${LOCAL_NETWORK_DIR}/${d}`
      )
    )
    const workspace = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')
    expect(workspace).toMatch(/^ {2}- packages\/devnet\/\*$/m)
  })

  test('no product package or app lists a local-network package in its run-time dependencies', () => {
    const names = new Set(localNetwork.map((m) => m.name))
    const offending = product.flatMap((m) =>
      RUNTIME_FIELDS.flatMap((field) =>
        Object.keys((m[field] as Record<string, string> | undefined) ?? {})
          .filter((dep) => names.has(dep))
          .map((dep) => `${m.dir} (${m.name}) ${field}: ${dep}`)
      )
    )
    expect(product.length).toBeGreaterThanOrEqual(9)
    expect(offending, 'move it to devDependencies, or the product installs the local network').toEqual([])
  })
})

// -- relative imports that cross a package boundary -------------------------------------------------

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'test-artifacts'])
const SOURCE = /\.(ts|mts|mjs)$/
// `from '…'`, `import '…'`, `import('…')`, `require('…')`, with a relative specifier.
const RELATIVE_IMPORT = /(?:\bfrom\s+|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return SKIP_DIRS.has(e.name) || e.name.startsWith('.') ? [] : sourceFiles(join(dir, e.name))
    return SOURCE.test(e.name) ? [join(dir, e.name)] : []
  })
}

/** The folder of the package a path belongs to: the nearest one above it with a package.json. */
function packageOf(path: string, base: string): string {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) || dir === base || dir === dirname(dir)) return dir
  }
}

/** `file: specifier (its package -> the package it reaches into)` for every relative import that leaves its package. */
export function crossingImports(base: string): string[] {
  return sourceFiles(base).flatMap((file) => {
    const code = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*)/.test(line))
      .join('\n')
    const from = packageOf(file, base)
    return [...code.matchAll(RELATIVE_IMPORT)].flatMap(([, specifier]) => {
      const to = packageOf(resolve(dirname(file), specifier as string), base)
      if (to === from) return []
      const name = (dir: string) => relative(base, dir) || '.'
      return [`${relative(base, file)}: ${specifier} (${name(from)} -> ${name(to)})`]
    })
  })
}

describe('packages are reached by name', () => {
  test("no .ts or .mjs file imports another package's files by a relative path", () => {
    expect(
      crossingImports(root),
      "import it by its name (@2020117/...), declared in this package's package.json"
    ).toEqual([])
  })
})
