// The REPL of the real bin, in its documented piped mode (--repl): status, skill, generate, quit.

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const network = await startTestNetwork({ teardown: afterAll })
let cwd: string

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), '2020117-repl-'))
})

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true })
})

test('status, skill, generate "a red fox" --seed=1 (a PNG appears in ./output/) and quit', async () => {
  const agent = spawnBin('agent', [
    network.flag,
    '--sats-per-minute=5',
    '--tick-seconds=5',
    '--name=repl test GPU',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = spawnBin(
    'session',
    [network.flag, '--budget=500', '--port=0', '--yes', '--repl', `--swarm-key=${ready.swarm_key}`],
    { cwd, stdin: 'pipe' }
  )
  await session.line(/type help for commands/)

  session.write('status\n')
  await session.line(/budget left\s+\d+ of 500 sats/)
  await session.line(/price\s+5 sats\/min, billed every 5 s/)
  session.write('skill\n')
  await session.line(/"name": "repl test GPU"/)
  session.write('generate "a red fox" --seed=1 --width=64 --height=64\n')
  const saved = await session.line(/saved .*seed1\.png/)
  session.write('quit\n')
  await session.line(/session ended: CUSTOMER_QUIT/)
  expect(await session.exited).toBe(0)

  const files = await readdir(join(cwd, 'output'))
  expect(files).toHaveLength(1)
  expect(saved).toContain(files[0])
  const png = await readFile(join(cwd, 'output', files[0] as string))
  expect(png.subarray(1, 4).toString()).toBe('PNG')
})

test('help lists every command, and an unknown command says so', async () => {
  const agent = spawnBin('agent', [network.flag, '--sats-per-minute=5', '--tick-seconds=5', '--json'])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = spawnBin(
    'session',
    [network.flag, '--budget=500', '--port=0', '--yes', '--repl', `--swarm-key=${ready.swarm_key}`],
    { cwd, stdin: 'pipe' }
  )
  await session.line(/type help for commands/)
  session.write('help\nfrobnicate\nquit\n')
  await session.line(/unknown command "frobnicate"/)
  await session.exited
  for (const cmd of ['status', 'skill', 'generate', 'quit'])
    expect(session.stdout()).toMatch(new RegExp(`^${cmd}\\b`, 'm'))
})
