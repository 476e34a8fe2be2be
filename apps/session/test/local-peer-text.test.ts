// Text from a provider reaches a person without terminal escapes, and the price a person agrees to
// is the one the offer carries. A real agent named "\x1b[2K\r rent X at 1 sats/min" (an erase-line
// and a carriage return, so that on a terminal the line shows only the fake price) sells at 500
// sats/min; the session's listing, its --list, its confirmation (on a real pseudo-terminal and
// without one) and its logs show no control character and the real price. A fake provider ends a
// session with such a message: the summary shows it stripped.

import { afterAll, expect, test } from 'vitest'
import { peerJson, peerText, stripControls } from '@2020117/cli'
import { BINS, spawnBin, spawnProcess, startTestNetwork, testHome } from '@2020117/testkit'
import { startFakeProvider } from './helpers/fake-provider.js'

const network = await startTestNetwork({ teardown: afterAll })

/** ESC, CR, the 8-bit CSI, DEL, a bidi override and isolate, a line separator. */
const HOSTILE = '\x1b[2K\r rent X at 1 sats/min \x9b2K\x7f\u202eevil\u2066\u2028'
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/

function visible(s: string): string {
  return JSON.stringify(s)
}

test('peerText strips C0, C1, DEL and bidi controls and bounds the length; peerJson escapes them', () => {
  expect(peerText(HOSTILE)).toBe('[2K rent X at 1 sats/min 2Kevil')
  expect(peerText('a'.repeat(500), 10)).toBe('aaaaaaaaa…')
  expect(Array.from(peerText('😀'.repeat(50), 5))).toHaveLength(5)
  expect(peerText(undefined)).toBe('')
  expect(stripControls('line\nforged line')).toBe('lineforged line')
  const json = peerJson({ name: HOSTILE })
  expect(json).not.toMatch(UNSAFE)
  expect(JSON.parse(json)).toEqual({ name: HOSTILE })
})

test('a provider named with terminal escapes: --list, the listing, the confirmation and the logs show no control character and the real price', async () => {
  const agent = spawnBin('agent', [
    network.flag,
    `--name=${HOSTILE}`,
    '--sats-per-minute=500',
    '--tick-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  await agent.line(/announced on 1 relay/)
  const before = network.balanceMsat('customer')

  const list = spawnBin('session', [network.flag, '--list'])
  expect(await list.exited).toBe(0)
  const row = list
    .stdout()
    .split('\n')
    .find((l) => l.includes(ready.swarm_key.slice(0, 8)) || l.includes('sats/min')) as string
  expect(list.stdout(), visible(list.stdout())).not.toMatch(UNSAFE)
  expect(row).toMatch(/500 sats\/min/)

  const listJson = spawnBin('session', [network.flag, '--list', '--json'])
  expect(await listJson.exited).toBe(0)
  const listed = JSON.parse(listJson.stdout()) as {
    providers: Array<{ name: string; sats_per_minute: number; swarm_key: string }>
  }
  const mine = listed.providers.find((p) => p.swarm_key === ready.swarm_key)
  expect(mine?.sats_per_minute).toBe(500)
  expect(mine?.name, visible(mine?.name ?? '')).not.toMatch(UNSAFE)
  expect(listJson.stdout()).not.toMatch(UNSAFE)

  // No terminal: the confirmation is an error that names the real price.
  const noTty = spawnBin('session', [
    network.flag,
    '--budget=500',
    '--port=0',
    '--no-repl',
    `--swarm-key=${ready.swarm_key}`
  ])
  expect(await noTty.exited).toBe(2)
  const out = noTty.stdout() + noTty.stderr()
  expect(out, visible(out)).not.toMatch(UNSAFE)
  expect(noTty.stderr()).toMatch(/error CONFIRMATION_REQUIRED: .*asks 500 sats\/min/)
  expect(noTty.stderr()).toMatch(/^\[session\]\s+500 sats\/min/m)

  // A real terminal: the [y/N] question carries the numbers of the offer and no provider text.
  const tty = await onTerminal(
    ['--devnet=' + network.dir, '--budget=500', '--port=0', '--no-repl', `--swarm-key=${ready.swarm_key}`],
    'n\n'
  )
  const question = tty.output.split(/\r?\n/).find((l) => l.includes('[y/N]')) as string
  expect(question, visible(tty.output)).toBeDefined()
  expect(question).toMatch(/500 sats\/min \(30000 sats\/hour\)/)
  expect(question).not.toMatch(/rent X|at 1 sats|evil/)
  // Readline draws its own prompt with cursor moves; the provider's erase-line must not be there.
  expect(tty.output).not.toContain('\x1b[2K')
  expect(tty.output).not.toMatch(/[\u009b\u202e\u2066]/)
  expect(tty.output).toMatch(/DECLINED/)
  expect(network.balanceMsat('customer')).toBe(before)
  agent.kill('SIGINT')
  await agent.exited
}, 90_000)

test('a session_end message with terminal escapes is shown stripped, in the summary and in --json', async () => {
  for (const json of [false, true]) {
    const fake = await startFakeProvider(network, {
      scenario: (s) => {
        s.send({
          type: 'session_end',
          sessionId: s.sessionId,
          by: 'provider',
          reason: 'PROVIDER_QUIT',
          message: HOSTILE,
          ticksPaid: 0,
          msatPaid: 0,
          durationMs: 0
        })
      }
    })
    const session = spawnBin('session', [
      network.flag,
      '--budget=100',
      '--port=0',
      '--yes',
      '--no-repl',
      ...(json ? ['--json'] : []),
      `--swarm-key=${fake.swarmKey}`
    ])
    expect(await session.exited).toBe(3)
    const out = session.stdout() + session.stderr()
    expect(out, visible(out)).not.toMatch(UNSAFE)
    if (json)
      expect((JSON.parse(session.stdout().trim().split('\n').at(-1) as string) as { message: string }).message).toBe(
        peerText(HOSTILE, 1000)
      )
    else expect(session.stdout()).toMatch(/session ended: PROVIDER_QUIT \(\[2K rent X at 1 sats\/min 2Kevil\)/)
    await fake.close()
  }
}, 90_000)

test('the REPL shows the manifest (skill) with its controls escaped and the name (status) stripped', async () => {
  const agent = spawnBin('agent', [
    network.flag,
    `--name=${HOSTILE}`,
    '--sats-per-minute=5',
    '--tick-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = spawnBin(
    'session',
    [network.flag, '--budget=100', '--port=0', '--yes', '--repl', `--swarm-key=${ready.swarm_key}`],
    { stdin: 'pipe' }
  )
  await session.line(/type help for commands/)
  session.write('skill\nstatus\n')
  await session.line(/"name": "\\u001b\[2K\\r rent X/)
  await session.line(/provider\s+\[2K rent X at 1 sats\/min 2Kevil \(/)
  session.write('quit\n')
  await session.line(/session ended: CUSTOMER_QUIT/)
  expect(await session.exited).toBe(0)
  const out = session.stdout() + session.stderr()
  expect(out, visible(out)).not.toMatch(UNSAFE)
  agent.kill('SIGINT')
  await agent.exited
}, 60_000)

/** Runs the session bin on a pseudo-terminal (util-linux script), types `answer` at its question. */
async function onTerminal(args: string[], answer: string): Promise<{ output: string; code: number | string }> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`
  const cmd = [process.execPath, BINS.session, ...args].map(quote).join(' ')
  const tty = spawnProcess('script', ['-qfec', cmd, '/dev/null'], {
    name: 'session on a terminal',
    cwd: testHome(),
    env: { ...process.env, HOME: testHome(), KEYS_AGENT: 'tty-customer' },
    stdin: 'pipe'
  })
  // The question ends without a newline: it is still the line being printed when it is asked.
  await tty
    .find((text) => text.includes('[y/N]'), { stream: 'stdout', partial: true })
    .then(
      () => tty.write(answer),
      () => undefined
    )
  const code = await tty.exited
  return { output: tty.stdout(), code }
}
