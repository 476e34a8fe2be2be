// @getalby/sdk writes to the console (console.error with an error's stack, console.warn, ...). What
// it says must reach the bins' logger instead, as typed lines with secrets redacted, and never as
// raw stack traces on stderr or as anything but JSON on a --json stdout. End to end: the real agent
// bin with an NWC wallet whose relay refuses connections, which makes the SDK log as it fails.

import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { afterAll, expect, test } from 'vitest'
import { killAll, spawnBin } from '../../testkit/src/bins.js'

afterAll(() => killAll())

/** A loopback port with nothing listening: the wallet's relay refuses every connection. */
async function deadPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

test('the agent, its wallet relay refusing: no raw stack trace on stderr, pure JSON on stdout, the SDK heard through the logger', async () => {
  const secret = randomBytes(32).toString('hex')
  const walletKey = randomBytes(32).toString('hex')
  const uri = `nostr+walletconnect://${walletKey}?relay=${encodeURIComponent(`ws://127.0.0.1:${await deadPort()}`)}&secret=${secret}`
  const agent = spawnBin('agent', [
    '--kind=5050',
    '--processor=http://127.0.0.1:9',
    '--sats-per-minute=1',
    `--nwc=${uri}`,
    '--json',
    '--log-level=debug'
  ])
  expect(await agent.exited).not.toBe(0)

  const stdout = agent.stdout().trim().split('\n')
  for (const line of stdout) expect(() => JSON.parse(line), `stdout line is not JSON: ${line}`).not.toThrow()
  expect(JSON.parse(stdout.at(-1) as string)).toMatchObject({ ok: false, error: { code: 'WALLET_UNREACHABLE' } })

  const stderr = agent.stderr()
  expect(stderr, 'a raw stack trace reached stderr').not.toMatch(/^\s+at .+[(/]/m)
  expect(stderr).not.toMatch(/node_modules/)
  // What the SDK said is there, as one typed logger line.
  expect(stderr).toMatch(
    /^\[agent\] debug: the NWC library said: failed to connect to any relay.* code=NWC_LIBRARY_LOG$/m
  )
  expect(stderr + agent.stdout()).not.toContain(secret)
})
