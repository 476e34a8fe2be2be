// Installable the way 2020117's users install it: `npx 2020117-agent …` and
// `npx -p 2020117-agent 2020117-session …`. This packs every published package with pnpm (which
// rewrites `workspace:` versions), installs the tarballs with plain `npm install` into an empty
// prefix (no pnpm, no workspace, a fresh HOME), and runs the installed bins: both --help texts, and a
// full paid session and a paid job on the local network, judged by the wallet ledger. The bins read the devnet's
// state file through their own reader; the devnet itself runs from the workspace (testkit, in this
// process, so that the ledger is read directly), and the installed 2020117-devnet bin shows its help.
// Third-party dependencies come from the npm registry through npm's own cache (--prefer-offline).

import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tickAmountMsat } from '@2020117/protocol'
import { spawnProcess, startTestNetwork, type Proc } from '@2020117/testkit'
import { packAll } from '../pack.mjs'
import { nodeHeadersEnv } from '../lib/node-headers.mjs'

const work = mkdtempSync(join(tmpdir(), '2020117-install-'))
const prefix = join(work, 'prefix')
const home = join(work, 'home')
let tarballs = new Map<string, string>() // package name -> tarball path, from scripts/pack.mjs
const net = await startTestNetwork({ teardown: afterAll })
const children = new Set<Proc>()
const LOCAL_NETWORK = ['@2020117/devnet', '@2020117/devwallet', '@2020117/webui', '2020117-devnet']

/** A clean environment for npm: no pnpm or npm settings inherited from the workspace run, a fresh HOME. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_|PNPM_|NODE_OPTIONS|VITEST)/i.test(k)) env[k] = v
  // A fresh HOME has no npmrc: say where Node's headers are, for the relay's SQLite build.
  return { ...env, HOME: home, ...nodeHeadersEnv(env) }
}

// scripts/pack.mjs packs and writes the prefix's package.json (the README's recipe); npm installs it.
function installAll(): void {
  const cache = process.env.npm_config_cache || join(homedir(), '.npm')
  execFileSync(
    'npm',
    ['install', '--prefer-offline', `--cache=${cache}`, '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: prefix, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }
  )
}

/** Runs an installed bin (spawnProcess: its output kept, waits on its lines). */
function installed(bin: string, args: string[]): Proc {
  const proc = spawnProcess(join(prefix, 'node_modules', '.bin', bin), args, { name: bin, cwd: work, env: cleanEnv() })
  children.add(proc)
  void proc.exited.then(() => children.delete(proc))
  return proc
}

beforeAll(async () => {
  for (const d of [prefix, home]) mkdirSync(d, { recursive: true })
  tarballs = packAll(prefix)
  installAll()
}, 600_000)

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  rmSync(work, { recursive: true, force: true })
})

describe('installed from the tarballs with plain npm', () => {
  test('every tarball holds compiled JavaScript only: no TypeScript source, no workspace: version', () => {
    for (const [name, file] of tarballs) {
      const files = execFileSync('tar', ['tzf', file], { encoding: 'utf8' }).trim().split('\n')
      expect(
        files.filter((f) => /\.(ts|tsx|mts|cts)$/.test(f) && !f.endsWith('.d.ts')),
        name
      ).toEqual([])
      expect(
        files.filter((f) => /\.map$|tsbuildinfo|\/test\//.test(f)),
        name
      ).toEqual([])
      const manifest = execFileSync('tar', ['xzf', file, '-O', 'package/package.json'], { encoding: 'utf8' })
      expect(manifest, name).not.toMatch(/workspace:|"source"|\.\/src\//)
      expect(JSON.parse(manifest).engines?.node, name).toBe('>=20.10')
    }
  })

  test('installing 2020117-agent installs no part of the local network', () => {
    const seen = new Set<string>()
    // Node's lookup: node_modules/<name> in the dependent's folder, then in each folder above it.
    const resolveFrom = (name: string, from: string): string | null => {
      for (let dir = from; ; dir = dirname(dir)) {
        const candidate = join(dir, 'node_modules', name, 'package.json')
        if (existsSync(candidate)) return candidate
        if (dir === prefix || dir === dirname(dir)) return null
      }
    }
    const walk = (name: string, from: string): void => {
      const manifest = resolveFrom(name, from)
      if (!manifest || seen.has(manifest)) return
      seen.add(manifest)
      const deps = (JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> })
        .dependencies
      for (const dep of Object.keys(deps ?? {})) walk(dep, dirname(manifest))
    }
    walk('2020117-agent', prefix)
    const names = [...seen].map((m) => (JSON.parse(readFileSync(m, 'utf8')) as { name: string }).name)
    expect(names).toContain('@2020117/session')
    expect(names).toContain('@2020117/job')
    expect(names).toContain('@2020117/trust')
    expect(names.filter((n) => LOCAL_NETWORK.includes(n))).toEqual([])
    // Nor the relay: its SQLite is a native build that an agent's user never needs.
    expect(names.filter((n) => n === 'better-sqlite3' || n.startsWith('@2020117/relay'))).toEqual([])
  })

  test('the installed 2020117-relay starts on its SQLite file, says what it enforces, and stops on SIGTERM', async () => {
    const relay = installed('2020117-relay', [`--db=${join(work, 'relay.sqlite')}`, '--port=0', '--json'])
    const ready = await relay.json((e) => e.event === 'ready')
    expect(ready.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+/)
    const info = await fetch(String(ready.url).replace(/^ws/, 'http'), {
      headers: { accept: 'application/nostr+json' }
    })
    const doc = (await info.json()) as { pow_by_kind: Array<{ kinds: unknown[]; bits: number }> }
    expect(doc.pow_by_kind).toContainEqual({ kinds: [[5000, 5999]], bits: 10 })
    relay.child.kill('SIGTERM')
    expect(await relay.exited).toBe(0)
  })

  test('2020117-agent, 2020117-session, 2020117-job, 2020117-trust, 2020117-relay and 2020117-devnet --help exit 0', async () => {
    for (const [bin, usage] of [
      ['2020117-agent', /^2020117-agent: /],
      ['2020117-session', /^2020117-session: /],
      ['2020117-job', /^2020117-job: /],
      ['2020117-trust', /^2020117-trust: /],
      ['2020117-relay', /^2020117-relay: /],
      ['2020117-devnet', /^2020117-devnet: /]
    ] as const) {
      const run = installed(bin, ['--help'])
      expect(await run.exited, `${bin} --help\n${run.stderr()}`).toBe(0)
      expect(run.stdout()).toMatch(usage)
    }
  })

  test('a paid session between the installed bins moves exactly ticks × tick amount in the ledger', async () => {
    const network = net
    const customerBefore = network.balanceMsat('customer')
    const providerBefore = network.balanceMsat('provider')
    // 60 sats/min billed every second: 1000 msat a tick, so a 3-sat budget pays exactly three ticks
    // (no fee reserve), and the session ends BUDGET_EXHAUSTED by itself once their time is used.
    const agent = installed('2020117-agent', [network.flag, '--sats-per-minute=60', '--tick-seconds=1', '--json'])
    const ready = await agent.json((e) => e.event === 'ready')
    // Either JSON case: the test is about installing, not about field names.
    const swarmKey = ready.swarmKey ?? ready.swarm_key
    expect(swarmKey, JSON.stringify(ready)).toMatch(/^[0-9a-f]{64}$/)
    const session = installed('2020117-session', [
      network.flag,
      '--budget=3',
      '--max-fee=0',
      '--port=0',
      '--yes',
      '--no-repl',
      '--json',
      `--swarm-key=${swarmKey as string}`
    ])
    const summary = await session.json((s) => 'reason' in s)
    expect(summary.reason, session.stderr()).toBe('BUDGET_EXHAUSTED')
    expect(await session.exited).toBe(0)
    const paid = 3 * tickAmountMsat(60, 1)
    expect(customerBefore - network.balanceMsat('customer')).toBe(paid)
    expect(network.balanceMsat('provider') - providerBefore).toBe(paid)
    agent.child.kill('SIGINT')
    expect(await agent.exited).toBe(0)
  })

  test('a paid job between the installed bins, with the example processor the package ships, moves the price once', async () => {
    const network = net
    const customerBefore = network.balanceMsat('customer')
    const providerBefore = network.balanceMsat('provider')
    const script = join(prefix, 'node_modules', '@2020117', 'agent', 'examples', 'translate.sh')
    const agent = installed('2020117-agent', [
      network.flag,
      '--kind=5302',
      `--processor=exec:${script}`,
      '--job-price=3',
      '--no-sessions',
      '--json'
    ])
    const ready = await agent.json((e) => e.event === 'ready')
    const job = installed('2020117-job', [
      network.flag,
      '--agent=buyer',
      '--kind=5302',
      '--input=hello world',
      '--param=lang=fr',
      '--bid=10',
      `--provider=${ready.npub as string}`,
      '--json'
    ])
    const summary = await job.json((s) => 'status' in s)
    expect(await job.exited, job.stderr()).toBe(0)
    expect(summary).toMatchObject({ status: 'delivered', msat_paid: 3000, result: 'bonjour monde\n' })
    expect(customerBefore - network.balanceMsat('customer')).toBe(3000)
    expect(network.balanceMsat('provider') - providerBefore).toBe(3000)
    agent.child.kill('SIGINT')
    expect(await agent.exited).toBe(0)
  })
})
