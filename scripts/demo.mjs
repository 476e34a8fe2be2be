#!/usr/bin/env node
// The demo behind `npm run demo`: the local network, a provider renting out the demo WebUI, and
// `2020117-session --budget=500 --port=8080` in the foreground with its REPL. Ctrl-C ends the
// session (which prints its summary), then the provider and the network stop in order, and the
// wallet balances are printed so the summary can be checked against the ledger.
//
// The network and the provider run in their own process groups so that Ctrl-C reaches only the
// session; this script then stops the others itself, in the right order.

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { spawnProcess } from '@2020117/testkit/process'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = process.env.DEMO_DIR ?? `${root}.2020117-demo`
const port = process.env.DEMO_PORT ?? '8080'
const bin = (path) => `${root}${path}`
const say = (line) => process.stderr.write(`[demo] ${line}\n`)

function background(name, path, args) {
  // Bounded: the provider logs for as long as the demo runs.
  const proc = spawnProcess(process.execPath, [bin(path), ...args], {
    name,
    cwd: root,
    detached: true,
    keepLines: 2000
  })
  const log = () =>
    [...proc.lines('stdout'), ...proc.lines('stderr')]
      .sort((a, b) => a.at - b.at)
      .map((l) => `${l.text}\n`)
      .join('')
  const ready = proc.line(/ready/).then(
    () => undefined,
    () => {
      throw new Error(`${name} exited (${proc.exitCode}) before it was ready:\n${log().slice(-2000)}`)
    }
  )
  return { proc, ready }
}

async function stop({ proc }) {
  if (proc.exitCode !== undefined) return
  proc.kill('SIGINT')
  await proc.exited
}

// The session in the foreground owns Ctrl-C; this script only waits for it.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => {})

// A fresh play-money wallet every run, so the balances printed at the end are this session's alone.
rmSync(dir, { recursive: true, force: true })
say('starting the local network (DHT, relay, wallet, demo WebUI) …')
const devnet = background('2020117-devnet', 'packages/devnet/network/dist/bin.js', [
  `--dir=${dir}`,
  '--dht-port=0',
  '--relay-port=0',
  '--webui-port=0'
])
let agent
try {
  await devnet.ready
  say('starting a provider that rents out the demo WebUI at 5 sats/min, billed every 10 s …')
  agent = background('2020117-agent', 'apps/agent/dist/bin.js', [
    `--devnet=${dir}`,
    '--sats-per-minute=5',
    '--tick-seconds=10',
    '--name=demo GPU',
    '--agent=demo-provider',
    // Its ready line is the JSON one: the human log has no line that says so.
    '--json'
  ])
  await agent.ready
} catch (err) {
  say(err.message)
  if (agent) await stop(agent)
  await stop(devnet)
  process.exit(1)
}

say(`starting the session: open http://localhost:${port} once the tunnel is open. Ctrl-C ends it.`)
const session = spawn(
  process.execPath,
  [
    bin('apps/session/dist/bin.js'),
    `--devnet=${dir}`,
    '--budget=500',
    `--port=${port}`,
    '--yes',
    '--agent=demo-customer',
    ...process.argv.slice(2)
  ],
  {
    cwd: process.cwd(),
    stdio: 'inherit'
  }
)
const [code] = await once(session, 'exit')

say('stopping the provider and the local network …')
await stop(agent)
await stop(devnet)
const balance = spawn(process.execPath, [bin('packages/devnet/network/dist/bin.js'), 'balance', `--dir=${dir}`], {
  stdio: 'inherit'
})
await once(balance, 'exit')
process.exit(code ?? 0)
