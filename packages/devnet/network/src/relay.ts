// The local network's relay is the product's: `2020117-relay` in a child process of its own, on the
// devnet's port and with its database in the devnet's directory, so that the demo and every test
// publish through the same policy (kind whitelist, proof of work, NIP-42) that the network runs.
// A child rather than the library in this process: what is tested is the bin a person runs, and a
// kill of it is a relay outage like any other.

import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { formatKindRanges, type PowRule } from '@2020117/protocol'
import { DevnetError } from './errors.js'

export interface RelayPolicyFlags {
  /** NIP-42: 'writes' makes every write authenticate as its author; 'all' restricts NIP-47 reads too. */
  auth?: 'off' | 'writes' | 'all'
  /** The proof-of-work table; absent = the relay's own defaults (AIP-0005), [] = none. */
  pow?: readonly PowRule[]
  /** Raises the relay's rate limits (events per second per pubkey and per connection), for load tests. */
  eventsPerSecond?: number
}

export interface SpawnedRelay {
  url: string
  host: string
  port: number
  /** SIGTERM, and resolves once the relay has closed its database and exited. */
  close(): Promise<void>
}

const RELAY_BIN = fileURLToPath(import.meta.resolve('@2020117/relayd/bin'))
// A relay that prints nothing for this long has hung on start: fail the devnet instead of waiting.
const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000
// The end of what a relay that failed to start printed, for the error.
const STDERR_KEPT = 4096

export async function spawnRelay(opts: {
  host: string
  port: number
  db: string
  policy: RelayPolicyFlags
  log: (line: string) => void
}): Promise<SpawnedRelay> {
  const args = [
    RELAY_BIN,
    `--host=${opts.host}`,
    `--port=${opts.port}`,
    `--db=${opts.db}`,
    '--json',
    ...policyArgs(opts.policy)
  ]
  // Its output comes here, not to the devnet's own stdout. The IPC channel is its leash: when this
  // process dies, killed or not, the channel closes and the relay stops (apps/relay's bin).
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
  child.channel?.unref()
  const exited = new Promise<number | string>((resolve) =>
    child.once('close', (code, sig) => resolve(code ?? sig ?? 'killed'))
  )
  const ready = await readyLine(child, exited, opts.port)
  forwardLog(child, opts.log)
  let closing: Promise<void> | null = null
  return {
    url: ready.url,
    host: opts.host,
    port: new URL(ready.url).port === '' ? opts.port : Number(new URL(ready.url).port),
    close() {
      closing ??= stop(child, exited)
      return closing
    }
  }
}

function policyArgs(policy: RelayPolicyFlags): string[] {
  const args: string[] = []
  if (policy.auth && policy.auth !== 'off') args.push(`--auth=${policy.auth}`)
  if (policy.pow) {
    if (policy.pow.length === 0) args.push('--pow=off')
    for (const rule of policy.pow) args.push(`--pow=${formatKindRanges(rule.kinds)}:${rule.bits}`)
  }
  if (policy.eventsPerSecond !== undefined) {
    const n = policy.eventsPerSecond
    args.push(`--rate-pubkey=${n}:${n * 10}`, `--rate-connection=${n * 2}:${n * 20}`, `--rate-req=${n}:${n * 10}`)
  }
  return args
}

/** The bin's `--json` ready line, or a typed error from what it printed before it exited. */
function readyLine(child: ChildProcess, exited: Promise<number | string>, port: number): Promise<{ url: string }> {
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT)
  })
  const lines = createInterface({ input: child.stdout! })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(DevnetError.RELAY_FAILED('it printed no ready line', stderr))
    }, READY_TIMEOUT_MS)
    const onLine = (line: string) => {
      const ready = parseReady(line)
      if (!ready) return
      clearTimeout(timer)
      lines.off('line', onLine)
      resolve(ready)
    }
    lines.on('line', onLine)
    void exited.then((code) => {
      clearTimeout(timer)
      const printed = stderr
      if (/PORT_IN_USE|EADDRINUSE|LISTEN_FAILED/.test(printed))
        reject(DevnetError.PORT_IN_USE('relay', port, '--relay-port'))
      else reject(DevnetError.RELAY_FAILED(`it exited (${code})`, printed))
    })
  })
}

function parseReady(line: string): { url: string } | null {
  try {
    const value = JSON.parse(line) as { event?: unknown; url?: unknown }
    return value.event === 'ready' && typeof value.url === 'string' ? { url: value.url } : null
  } catch {
    return null
  }
}

function forwardLog(child: ChildProcess, log: (line: string) => void): void {
  createInterface({ input: child.stderr! }).on('line', (line) => log(`relay    ${line}`))
}

async function stop(child: ChildProcess, exited: Promise<number | string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}
