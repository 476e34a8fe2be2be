// Runs scripts/fuzz-live.mjs for 20 000 frames: fuzz connections that send mutated frames (and
// valid ones illegal for the state) to a real 2020117-agent, while an honest 2020117-session rents
// from the same agent. The global setup has built dist/, which the script runs.
//
// Defences covered, and how this test fails without them:
// - SessionChannel turns every frame it refuses into an `error` frame with the decoder's code and
//   closes only that channel. If a decoding error escaped into protomux, the connection would be
//   destroyed with no error frame, and the script's oracle (our own decoder's code must be the code
//   the agent answers) would count mismatches; if it escaped further, the agent would die.
// - The agent keeps serving, and billing, the honest session whatever the other connections send:
//   honest_session_ok is false if its tunnel stops answering GET /healthz or the agent ends it.

import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { spawnProcess, type Proc } from '@2020117/testkit'

const root = fileURLToPath(new URL('../..', import.meta.url))
let child: Proc | null = null

afterAll(async () => {
  // SIGTERM lets the script kill the agent and session it spawned and remove its temp dir.
  child?.kill('SIGTERM')
  await child?.exited
})

async function run(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  child = spawnProcess(process.execPath, [`${root}scripts/fuzz-live.mjs`, ...args], {
    name: 'fuzz-live.mjs',
    cwd: root
  })
  const code = await child.exited
  return { code, stdout: child.stdout(), stderr: child.stderr() }
}

test('fuzz-live --frames=20000: the agent survives, answers every refused frame with its code, and the honest session is never broken', async () => {
  const { code, stdout, stderr } = await run(['--frames=20000', '--json'])
  const last = stdout.trim().split('\n').pop() ?? ''
  expect(last.startsWith('{'), `no JSON result (exit ${code})\n--- stderr ---\n${stderr.slice(-3000)}`).toBe(true)
  const result = JSON.parse(last) as Record<string, any>
  const context = `${JSON.stringify(result)}\n--- stderr ---\n${stderr.slice(-3000)}`
  expect(result.agent_alive, context).toBe(true)
  expect(result.honest_session_ok, context).toBe(true)
  expect(result.frames, context).toBeGreaterThanOrEqual(20_000)
  expect(code, context).toBe(0)

  // The fuzzing really happened: hostile frames went out, the agent refused them by code.
  expect(result.hostile_frames, context).toBeGreaterThan(0)
  expect(result.channels_closed_by_agent, context).toBeGreaterThan(0)
  expect(result.oracle_checked, context).toBeGreaterThan(0)
  expect(result.oracle_mismatches, context).toBe(0)
  expect(result.undecodable_from_agent, context).toBe(0)
  expect(result.agent_stderr_stack_trace, context).toBe(false)
  expect(typeof result.seed).toBe('number')
}, 300_000)
