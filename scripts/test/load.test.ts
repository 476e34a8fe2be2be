// `node scripts/load.mjs --quick` measures, prints one JSON object, and meets its three goals:
// no errors through one loaded tunnel, none across concurrent sessions, and bounded memory in the
// agent behind a slow reader. The global setup builds dist/ first, so the bins are current.

import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { spawnProcess, type Proc } from '@2020117/testkit'

const root = fileURLToPath(new URL('../..', import.meta.url))
let child: Proc | null = null

afterAll(async () => {
  // load.mjs kills its own process groups on SIGTERM.
  child?.kill('SIGTERM')
  await child?.exited
})

async function runLoad(): Promise<{ code: number | string; stdout: string; stderr: string }> {
  child = spawnProcess(process.execPath, [`${root}scripts/load.mjs`, '--quick'], { name: 'load.mjs', cwd: root })
  const code = await child.exited
  return { code, stdout: child.stdout(), stderr: child.stderr() }
}

test('load.mjs --quick: one JSON object, every goal met', async () => {
  const { code, stdout, stderr } = await runLoad()
  expect(code, stderr.slice(-3000)).toBe(0)
  const lines = stdout.trim().split('\n')
  expect(lines, 'exactly one line on stdout').toHaveLength(1)
  const result = JSON.parse(lines[0]!)

  expect(result).toMatchObject({ quick: true, node: process.version })
  expect(typeof result.cpus).toBe('number')
  expect(Number.isNaN(Date.parse(result.date))).toBe(false)
  const one = result.one_session
  expect(one, JSON.stringify(one)).toMatchObject({ http_errors: 0, ws_errors: 0 })
  expect(one.http_ok).toBeGreaterThan(0)
  expect(one.ws_ok).toBeGreaterThan(0)
  const many = result.twenty_sessions
  expect(many, JSON.stringify(many)).toMatchObject({ errors: 0, sessions_open: many.sessions })
  expect(many.requests_ok).toBeGreaterThan(0)
  const slow = result.slow_reader
  expect(slow.bytes_read, JSON.stringify(slow)).toBeGreaterThan(0)
  expect(slow.content_ok).toBe(true)
  expect(slow.rss_mb_max).toBeGreaterThanOrEqual(slow.rss_mb_start)
  expect(slow.rss_mb_max - slow.rss_mb_start, JSON.stringify(slow)).toBeLessThan(64)

  expect(result.goals, stdout).toEqual({
    one_session_zero_errors: true,
    twenty_sessions_zero_errors: true,
    slow_reader_rss_growth_lt_64mb: true
  })
}, 180_000)
