// Keeps README.md honest (and a bin's own README that holds its flag table, as apps/relay's does):
// every flag table in its "Flag reference" must list exactly the flags the bin's real --help shows
// (no more, no fewer), with the same environment variables and defaults, and the README must carry the exact test command CI runs and the demo command.
// The global setup builds dist/, so the bins run here are the current sources.

import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const readme = readFileSync(`${root}README.md`, 'utf8')

interface FlagRow {
  /** Long and short names, e.g. ['-y', '--yes']. */
  names: string[]
  defaultCell: string
  envCell: string
}

interface HelpFlag {
  names: string[]
  env: string[]
  default: string | null
}

const BINS: Array<{ heading: string; bin: string; args: string[]; readme?: string }> = [
  { heading: '2020117-agent flags', bin: 'apps/agent/dist/bin.js', args: ['--help'] },
  { heading: '2020117-session flags', bin: 'apps/session/dist/bin.js', args: ['--help'] },
  { heading: '2020117-job flags', bin: 'apps/job/dist/bin.js', args: ['--help'] },
  { heading: '2020117-trust flags', bin: 'apps/trust/dist/bin.js', args: ['--help'] },
  { heading: '2020117-devnet flags', bin: 'packages/devnet/network/dist/bin.js', args: ['--help'] },
  { heading: '2020117-devnet balance flags', bin: 'packages/devnet/network/dist/bin.js', args: ['balance', '--help'] },
  {
    heading: '2020117-devnet account create flags',
    bin: 'packages/devnet/network/dist/bin.js',
    args: ['account', 'create', '--help']
  },
  { heading: '2020117-relay flags', bin: 'apps/relay/dist/bin.js', args: ['--help'], readme: 'apps/relay/README.md' }
]

const HELP_FLAGS = new Set(['-h', '--help'])
const FLAG_NAME = /(?<![\w-])(--?[a-z][a-z0-9-]*)/g

/** The rows of the first table after the heading `### <heading>` of a README (the top one by default). */
function readmeTable(heading: string, file?: string): FlagRow[] {
  const lines = (file ? readFileSync(`${root}${file}`, 'utf8') : readme).split('\n')
  const start = lines.findIndex((l) => l.trim() === `### ${heading}`)
  if (start < 0) throw new Error(`${file ?? 'README.md'} has no "### ${heading}" heading`)
  let i = start + 1
  while (i < lines.length && !lines[i]!.startsWith('|')) {
    if (/^#{1,3} /.test(lines[i]!)) throw new Error(`no table under "### ${heading}"`)
    i++
  }
  const table: string[] = []
  while (i < lines.length && lines[i]!.startsWith('|')) table.push(lines[i++]!)
  const [header, separator, ...rows] = table
  expect(
    header
      ?.split('|')
      .map((c) => c.trim())
      .filter(Boolean)
  ).toEqual(['flag', 'default', 'environment variable', 'meaning'])
  expect(separator).toMatch(/^\|(\s*:?-+:?\s*\|)+$/)
  return rows.map((row) => {
    const cells = row
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim())
    if (cells.length !== 4) throw new Error(`"### ${heading}": a row does not have 4 cells: ${row}`)
    const names = [...cells[0]!.matchAll(FLAG_NAME)].map((m) => m[1]!)
    if (names.length === 0) throw new Error(`"### ${heading}": no flag in the first cell of: ${row}`)
    return { names, defaultCell: cells[1]!.replace(/`/g, ''), envCell: cells[2]! }
  })
}

/** The flags of a bin's --help: the "Flags:" block up to the next blank line. */
function helpFlags(help: string): HelpFlag[] {
  const lines = help.split('\n')
  const start = lines.findIndex((l) => l.trim() === 'Flags:')
  if (start < 0) throw new Error(`--help has no "Flags:" section:\n${help}`)
  const out: HelpFlag[] = []
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break
    const m = /^\s+(\S.*?)(?:\s{2,}(.*))?$/.exec(line)
    if (!m) continue
    const names = [...m[1]!.matchAll(FLAG_NAME)].map((x) => x[1]!)
    if (names.length === 0) continue
    const description = m[2] ?? ''
    // The trailing "(default: …; env: …; repeatable)" group the help generator appends.
    const extras = /\(([^()]*)\)\s*$/.exec(description)?.[1] ?? ''
    const parts = extras.split(';').map((p) => p.trim())
    const known = parts.every((p) => /^(default: |env: |repeatable$)/.test(p))
    out.push({
      names,
      env: known ? parts.filter((p) => p.startsWith('env: ')).map((p) => p.slice(5)) : [],
      default: known ? (parts.find((p) => p.startsWith('default: '))?.slice(9) ?? null) : null
    })
  }
  return out
}

function runHelp(bin: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [`${root}${bin}`, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, NO_COLOR: '1' }
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('README flag tables match --help', () => {
  for (const { heading, bin, args, readme: file } of BINS) {
    test(`${heading} = ${bin.split('/').slice(0, 2).join('/')} ${args.join(' ')}`, () => {
      const r = runHelp(bin, args)
      expect(r.status, r.stderr).toBe(0)
      const help = helpFlags(r.stdout).filter((f) => !f.names.every((n) => HELP_FLAGS.has(n)))
      const rows = readmeTable(heading, file)

      const helpNames = help.flatMap((f) => f.names).filter((n) => !HELP_FLAGS.has(n))
      const readmeNames = rows.flatMap((r) => r.names)
      expect(new Set(readmeNames).size, `a flag is listed twice under "### ${heading}"`).toBe(readmeNames.length)
      // Every flag the README lists exists, and every flag the bin has is listed.
      expect([...readmeNames].sort(), `README "### ${heading}" vs ${args.join(' ')}`).toEqual([...helpNames].sort())

      for (const f of help) {
        const row = rows.find((r) => r.names.includes(f.names[f.names.length - 1]!))!
        const where = `${f.names.join(', ')} under "### ${heading}"`
        // The same environment variables, and none where the bin reads none.
        const envInReadme = [...row.envCell.matchAll(/[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{3,}/g)].map((m) => m[0])
        expect(envInReadme.sort(), `environment variable of ${where}`).toEqual([...f.env].sort())
        if (f.default !== null) expect(row.defaultCell, `default of ${where}`).toContain(f.default)
      }
    })
  }
})

describe('README commands', () => {
  test('carries the exact test command CI runs', () => {
    const ci = readFileSync(`${root}.ci/run`, 'utf8')
    const lines = ci
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^npm test\b/.test(l))
    expect(lines.length, '.ci/run has no "npm test" line').toBeGreaterThan(0)
    for (const line of lines) expect(readme).toContain(`\`${line}\``)
  })

  test('carries the demo command', () => {
    expect(readme).toContain('`npm run demo`')
  })

  test('the two-commands table is intact', () => {
    expect(readme).toMatch(/\| run every test \| `npm test` \|/)
    expect(readme).toMatch(/\| run the demo \| `npm run demo` \|/)
  })
})
