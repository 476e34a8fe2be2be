// @getalby/sdk writes to the console (console.error with an error's stack, console.warn, ...). What
// it says must reach the bins' logger instead, as typed lines with secrets redacted, and never as
// raw stack traces on stderr or as anything but JSON on a --json stdout. End to end: the real bins
// with an NWC wallet whose relay refuses connections, which makes the SDK log as it fails. (The
// test kit is a devDependency: the wallet package never loads it at run time.)

import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { afterAll, expect, onTestFinished, test } from 'vitest'
import { killAll, spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'

afterAll(killAll)

/** A loopback port with nothing listening: the wallet's relay refuses every connection. */
async function deadPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

function refusingWallet(): Promise<{ uri: string; secret: string }> {
  const secret = randomBytes(32).toString('hex')
  return deadPort().then((port) => ({
    uri: `nostr+walletconnect://${randomBytes(32).toString('hex')}?relay=${encodeURIComponent(`ws://127.0.0.1:${port}`)}&secret=${secret}`,
    secret
  }))
}

/** Every stdout line is JSON, the last one the error; stderr has the SDK's words as a logger line, no stack, no secret. */
function expectClean(proc: Proc, name: string, secret: string): void {
  const stdout = proc.stdout().trim().split('\n')
  for (const line of stdout) expect(() => JSON.parse(line), `stdout line is not JSON: ${line}`).not.toThrow()
  expect(JSON.parse(stdout.at(-1) as string)).toMatchObject({ ok: false, error: { code: 'WALLET_UNREACHABLE' } })
  const stderr = proc.stderr()
  expect(stderr, 'a raw stack trace reached stderr').not.toMatch(/^\s+at .+[(/]/m)
  expect(stderr).not.toMatch(/node_modules/)
  const heard = new RegExp(
    `^\\[${name}\\] debug: the NWC library said: failed to connect to any relay.* code=NWC_LIBRARY_LOG$`,
    'm'
  )
  expect(stderr).toMatch(heard)
  expect(stderr + proc.stdout()).not.toContain(secret)
}

test('the agent, its wallet relay refusing: no raw stack trace on stderr, pure JSON on stdout, the SDK heard through the logger', async () => {
  const { uri, secret } = await refusingWallet()
  const args = ['--kind=5050', '--processor=http://127.0.0.1:9', '--sats-per-minute=1', `--nwc=${uri}`, '--json']
  const agent = spawnBin('agent', [...args, '--log-level=debug'])
  expect(await agent.exited).not.toBe(0)
  expectClean(agent, 'agent', secret)
})

test('the session, its wallet relay refusing once it has an offer: the same', async () => {
  const network = await startTestNetwork({ teardown: onTestFinished })
  const agent = spawnBin('agent', [network.flag, '--sats-per-minute=5', '--tick-seconds=2', '--json'])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const { uri, secret } = await refusingWallet()
  const flags = ['--budget=50', '--port=0', '--yes', '--no-repl', '--json', '--log-level=debug']
  const session = spawnBin('session', [network.flag, ...flags, `--swarm-key=${ready.swarm_key}`, `--nwc=${uri}`])
  expect(await session.exited).not.toBe(0)
  expectClean(session, 'session', secret)
})
