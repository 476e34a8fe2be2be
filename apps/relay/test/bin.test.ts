// The bin as a person runs it: --help, flags it refuses (exit 2 with a code), a port in use, the
// policy printed at start, a clean stop on SIGINT/SIGTERM, and durability: an event whose OK was
// sent survives a kill -9 of the relay.

import { describe, expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { BINS, spawnBin } from '@2020117/testkit'
import { author, Client, startBin, tempDb } from './helpers/relay.js'

const FLAGS = [
  '--db',
  '--port',
  '--host',
  '--public-url',
  '--auth',
  '--kinds',
  '--pow',
  '--min-pow',
  '--pow-exempt',
  '--writers',
  '--retention',
  '--rate-pubkey',
  '--rate-connection',
  '--rate-req',
  '--json',
  '--help'
]

describe('flags', () => {
  test('--help exits 0 and lists every flag', async () => {
    const proc = spawnBin('relay', ['--help'])
    expect(await proc.exited).toBe(0)
    for (const flag of FLAGS) expect(proc.stdout()).toMatch(new RegExp(`${flag}(?![a-z-])`))
  })

  test.each([
    [['--bogus'], 'UNKNOWN_FLAG'],
    [['--pow=5000-5999:99'], 'INVALID_POLICY'],
    [['--pow=5000-5999'], 'INVALID_POLICY'],
    [['--kinds=1,x'], 'INVALID_POLICY'],
    [['--retention=soon'], 'INVALID_POLICY'],
    [['--rate-pubkey=fast'], 'INVALID_POLICY'],
    [['--writers=npub1nope'], 'INVALID_POLICY'],
    [['--public-url=http://example.com'], 'INVALID_POLICY'],
    [['--auth=maybe'], 'INVALID_FLAG'],
    [['--port=70000'], 'INVALID_FLAG'],
    [['--min-pow=33'], 'INVALID_FLAG']
  ])('%j exits 2 with %s', async (args, code) => {
    const proc = spawnBin('relay', [`--db=${tempDb()}`, ...args, '--json'])
    expect(await proc.exited, proc.stderr()).toBe(2)
    expect(JSON.parse(proc.stdout())).toMatchObject({ ok: false, error: { code } })
    expect(proc.stderr()).toContain(`error ${code}: `)
  })

  test('a port in use exits 2 with PORT_IN_USE, and says to pick another', async () => {
    const first = await startBin()
    const proc = spawnBin('relay', [`--db=${tempDb()}`, `--port=${first.ready.port}`])
    expect(await proc.exited).toBe(2)
    expect(proc.stderr()).toMatch(/error PORT_IN_USE: .*--port=/)
  })
})

describe('start and stop', () => {
  test('prints the policy it enforces at start, in the words of its refusals', async () => {
    const proc = spawnBin('relay', [`--db=${tempDb()}`, '--port=0', '--auth', '--writers=' + author().pubkey])
    await proc.line(/^2020117-relay ready at ws:\/\/127\.0\.0\.1:\d+/, 'stdout')
    await proc.line(/^Ctrl-C/, 'stdout')
    const out = proc.stdout()
    expect(out).toMatch(/^kinds +0,1,3,5,.*5000-5999.*blocked:/m)
    expect(out).toMatch(/^pow +0,1,3,5,30078: 20 bits; 5000-5999: 10 bits; .*pow:/m)
    expect(out).toMatch(/^auth +.*auth-required:/m)
    expect(out).toMatch(/^writers +only 1 author/m)
    expect(out).toMatch(/^rates +.*rate-limited:/m)
    proc.kill('SIGTERM')
    expect(await proc.exited).toBe(0)
  })

  test.each(['SIGINT', 'SIGTERM'] as const)('%s closes the database and exits 0', async (signal) => {
    const { proc, db } = await startBin()
    proc.kill(signal)
    expect(await proc.exited).toBe(0)
    expect(JSON.parse(proc.stdout().trim().split('\n').at(-1)!)).toEqual({ event: 'stopped', signal })
    // Closed cleanly: another relay opens the same file at once.
    const again = await startBin([], db)
    expect(again.ready.db).toBe(db)
  })

  test('started by a supervisor over an IPC channel, it stops when the channel closes', async () => {
    const db = tempDb()
    // As 2020117-devnet starts it: if the supervisor dies, killed or not, the channel closes.
    const child = spawn(process.execPath, [BINS.relay, `--db=${db}`, '--port=0', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc']
    })
    const exited = once(child, 'exit')
    const lines = createInterface({ input: child.stdout! })
    await new Promise<void>((resolve) => lines.on('line', (l) => l.includes('"ready"') && resolve()))
    child.disconnect()
    expect((await exited)[0]).toBe(0)
    expect((await startBin([], db)).ready.db).toBe(db)
  })

  test('the ready line names the database, the URL and the policy, snake_case', async () => {
    const db = tempDb()
    const { ready } = await startBin(['--min-pow=1', '--retention=30d', '--connections-per-address=5'], db)
    expect(ready).toMatchObject({
      event: 'ready',
      url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+$/),
      db,
      policy: { min_pow: 1, retention_seconds: 30 * 86_400, auth: 'off', writers: null },
      limits: { max_connections_per_address: 5 }
    })
  })
})

describe('durability', () => {
  test('an event whose OK was sent is served after kill -9 and a restart on the same --db', async () => {
    const db = tempDb()
    const first = await startBin([], db)
    const c = await Client.open(first.url)
    const event = author().sign(7000, { tags: [['status', 'processing']], content: 'survives' })
    expect(await c.publish(event)).toMatchObject({ ok: true })
    first.proc.kill('SIGKILL')
    expect(await first.proc.exited).toBe('SIGKILL')

    const second = await startBin([], db)
    const d = await Client.open(second.url)
    expect((await d.query({ ids: [event.id] })).map((e) => e.content)).toEqual(['survives'])
  })
})
