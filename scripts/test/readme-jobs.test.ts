// The README's job quickstart, run as a user would: its three commands, as written, in a fresh
// directory with a fresh HOME (the devnet on free ports, so that tests can run side by side). The
// job's result and summary are judged by the wallet ledger, read with the README's own command.

import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { spawnProcess, type Proc } from '@2020117/testkit/process'

const root = fileURLToPath(new URL('../..', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const BIN_PATHS: Record<string, string> = {
  '2020117-devnet': 'packages/devnet/network/dist/bin.js',
  '2020117-agent': 'apps/agent/dist/bin.js',
  '2020117-job': 'apps/job/dist/bin.js'
}
const FREE_PORTS = ['--dht-port=0', '--relay-port=0', '--webui-port=0', '--blossom-port=0', '--lnurl-port=0']

const running: Proc[] = []
afterAll(async () => {
  for (const p of running) p.kill('SIGINT')
  await Promise.all(running.map((p) => p.exited))
})

/** The first sh block of the quickstart, one command a line, split as a shell would (double quotes). */
function quickstartCommands(): string[][] {
  const section = readme.split('## Quickstart: sell and buy a job')[1]!.split('\n## ')[0]!
  const block = section.split('```sh\n')[1]!.split('```')[0]!
  return block.trim().split('\n').map(words)
}

/** A command line split into words as sh would: spaces separate, double quotes group (no escapes here). */
function words(line: string): string[] {
  return [...line.matchAll(/(?:[^\s"]+|"[^"]*")+/g)].map((m) => m[0].replace(/"/g, ''))
}

function run(cwd: string, argv: string[], extra: string[] = []): Proc {
  const [pnpm, exec, bin, ...args] = argv
  expect([pnpm, exec], 'each command runs a bin of the checkout').toEqual(['pnpm', 'exec'])
  const path = BIN_PATHS[bin!]
  expect(path, `${bin} is one of the bins`).toBeDefined()
  // Nothing of this process's environment (keys, wallet URIs, relays) reaches the bins.
  const env = { PATH: process.env.PATH, HOME: join(cwd, 'home') }
  const p = spawnProcess(process.execPath, [join(root, path!), ...args, ...extra], { name: bin, cwd, env })
  running.push(p)
  return p
}

test(
  'the job quickstart: the devnet, an agent with the example exec: processor, and 2020117-job paid once',
  { timeout: 120_000 },
  async () => {
    const commands = quickstartCommands()
    expect(commands.map((c) => c[2])).toEqual(['2020117-devnet', '2020117-agent', '2020117-job'])
    const cwd = mkdtempSync(join(tmpdir(), '2020117-readme-jobs-'))
    // The agent's processor is ./apps/agent/examples/translate.sh, relative to a checkout.
    symlinkSync(join(root, 'apps'), join(cwd, 'apps'))

    const devnet = run(cwd, commands[0]!, FREE_PORTS)
    await devnet.line(/^ready: the local network is up/, 'any', { timeoutMs: 60_000 })
    const before = await balances(cwd)
    const agent = run(cwd, commands[1]!)
    await agent.line(/announced on 1 relay\(s\)/, 'stderr', { timeoutMs: 60_000 })
    const job = run(cwd, commands[2]!, ['--json'])
    expect(await job.exited, job.stderr()).toBe(0)
    const summary = JSON.parse(job.stdout().trim().split('\n').pop()!)
    expect(summary).toMatchObject({ status: 'delivered', msat_paid: 3000, result: 'bonjour monde\n' })

    const after = await balances(cwd)
    expect(before.customer - after.customer).toBe(summary.msat_paid)
    expect(after.provider - before.provider).toBe(summary.msat_paid)
  }
)

/** `pnpm exec 2020117-devnet balance --json`, in msat by account. */
async function balances(cwd: string): Promise<Record<string, number>> {
  const p = run(cwd, ['pnpm', 'exec', '2020117-devnet', 'balance', '--json'])
  expect(await p.exited, p.stderr()).toBe(0)
  const value = JSON.parse(p.stdout()) as unknown
  return balanceMap(value)
}

function balanceMap(value: unknown): Record<string, number> {
  const list = Array.isArray(value) ? value : ((value as { accounts?: unknown[] }).accounts ?? [])
  return Object.fromEntries(
    (list as Array<{ name: string; balance_msat: number }>).map((a) => [a.name, a.balance_msat])
  )
}
