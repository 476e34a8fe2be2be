// spawnProcess, the one "spawn a child and wait for a line": on small node scripts that print
// what each test needs, synchronised on their lines and exits only.

import { expect, test } from 'vitest'
import { spawnProcess } from '@2020117/testkit'

const node = (script: string, opts: Parameters<typeof spawnProcess>[2] = {}) =>
  spawnProcess(process.execPath, ['-e', script], { name: 'child', ...opts })

test('a wait takes a line already printed or one to come, from the stream named', async () => {
  const p = node(`console.log('one'); console.error('two'); setTimeout(() => console.log('three'), 50)`)
  expect(await p.line(/three/)).toBe('three')
  expect(await p.line(/one/)).toBe('one')
  expect(await p.line(/two/, 'stderr')).toBe('two')
  await expect(p.line(/two/, 'stdout')).rejects.toThrow(/child (has )?exited \(0\).*\/two\//)
  expect(await p.exited).toBe(0)
})

test('json() takes the first stdout object the predicate accepts, skipping other lines', async () => {
  const p = node(`console.log('not json'); console.log('{"n":1}'); console.log('[2]'); console.log('{"n":2}')`)
  expect(await p.json((v) => v.n === 2)).toEqual({ n: 2 })
})

test('a wait fails as soon as the process exits without printing it, with its stderr', async () => {
  const p = node(`console.error('went wrong'); process.exit(3)`)
  await expect(p.line(/ready/)).rejects.toThrow(/exited \(3\)[\s\S]*went wrong/)
  expect(p.exitCode).toBe(3)
})

test('once exited, the output is complete, the last line without its newline too', async () => {
  const p = node(`process.stdout.write('a\\nb\\nno newline')`)
  expect(await p.exited).toBe(0)
  expect(p.stdout()).toBe('a\nb\nno newline')
  expect(p.lines('stdout').map((l) => l.text)).toEqual(['a', 'b', 'no newline'])
})

test('fresh waits only for lines printed from now on', async () => {
  const p = node(`console.log('tick 1'); process.stdin.on('data', () => console.log('tick 2'))`, { stdin: 'pipe' })
  await p.line(/tick 1/)
  const next = p.line(/tick/, 'stdout', { fresh: true })
  p.write('go\n')
  expect(await next).toBe('tick 2')
  p.kill()
  expect(await p.exited).toBe('SIGTERM')
})

test('partial waits also see a prompt that has no newline yet, and the answer reaches stdin', async () => {
  const script = `process.stdout.write('continue? [y/N] '); process.stdin.once('data', (d) => { console.log('answer ' + d.toString().trim()); process.exit(0) })`
  const p = node(script, { stdin: 'pipe' })
  await p.find((text) => text.includes('[y/N]'), { stream: 'stdout', partial: true })
  p.write('n\n')
  expect(await p.exited).toBe(0)
  expect(p.stdout()).toBe('continue? [y/N] answer n\n')
})

test('timeoutMs bounds a wait; keepLines keeps the last lines; mapLine rewrites or drops them', async () => {
  const p = node(`for (let i = 0; i < 100; i++) console.log('line ' + i); setInterval(() => {}, 1000)`, {
    keepLines: 10,
    mapLine: (l) => (l.text.endsWith('7') ? null : { ...l, text: l.text.toUpperCase() })
  })
  await p.line(/LINE 99/)
  const kept = p.lines('stdout').map((l) => l.text)
  expect(kept.length).toBeLessThanOrEqual(10)
  expect(kept.at(-1)).toBe('LINE 99')
  expect(kept).not.toContain('LINE 97')
  await expect(p.line(/never/, 'any', { timeoutMs: 50 })).rejects.toThrow(/nothing printed \/never\/ within 50 ms/)
  p.kill('SIGKILL')
  expect(await p.exited).toBe('SIGKILL')
})

test('onLine hears every line from now on, with when it arrived', async () => {
  const p = node(`setTimeout(() => { console.log('x'); console.error('y') }, 50)`)
  const heard: string[] = []
  const off = p.onLine((l) => {
    expect(l.at).toBeGreaterThan(0)
    heard.push(`${l.stream}:${l.text}`)
  })
  await p.exited
  off()
  expect(heard.sort()).toEqual(['stderr:y', 'stdout:x'])
})

test('a command that cannot be spawned exits with its error code instead of throwing', async () => {
  const p = spawnProcess('/nonexistent/command', [])
  expect(await p.exited).toBe('ENOENT')
})

test('a Proc spread into a wrapper keeps working (its methods are bound)', async () => {
  const p = node(`console.log('ready'); setInterval(() => {}, 1000)`)
  const wrapped = { ...p, line: (re: RegExp) => p.line(re).then((l) => `wrapped ${l}`) }
  expect(await wrapped.line(/ready/)).toBe('wrapped ready')
  expect(wrapped.stdout()).toBe('ready\n')
  wrapped.kill('SIGKILL')
  expect(await wrapped.exited).toBe('SIGKILL')
})
