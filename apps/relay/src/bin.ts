#!/usr/bin/env node
// 2020117-relay: the network's own Nostr relay (SPEC §12), @2020117/relay with its SQLite file.
// Named steps: the flags (spec.ts) read into settings (options.ts) → the database's directory →
// the relay opened (a port or database it cannot use is a RelaydError) → the ready line and the
// policy it enforces → a signal → the relay closed, its database with it, exit 0.

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { runMain, snakeKeys, stripControls, type MainContext } from '@2020117/cli'
import { startRelay, type RunningRelay } from '@2020117/relay'
import { exposedLine, readyEvent, readyLines } from './describe.js'
import { RelaydError } from './errors.js'
import { isLoopback, relayOptionsOf, settingsOf, type Settings } from './options.js'
import { spec } from './spec.js'

type Print = (event: Record<string, unknown>, lines: string[]) => void

await runMain(spec, process.argv.slice(2), async ({ flags, json, goodbye, teardown }) => {
  const print: Print = (event, lines) =>
    process.stdout.write(json ? JSON.stringify(snakeKeys(event)) + '\n' : lines.map(stripControls).join('\n') + '\n')
  // Handlers go in before anything opens: a signal during start-up stops the relay once it is up.
  const signal = untilSignal()
  const settings = settingsOf(flags.values)
  prepareDbDir(settings.db)
  const relay = await openRelay(settings, goodbye)
  if (!isLoopback(relay.host)) process.stderr.write(exposedLine(relay.host) + '\n')
  print(readyEvent(relay, settings), readyLines(relay, settings))
  const name = await signal
  await teardown()
  // A supervisor that went away reads nothing more.
  if (name !== 'disconnect') print({ event: 'stopped', signal: name }, [`${name}: stopped; the database is closed.`])
  return 0
})

/**
 * The relay runs until SIGINT or SIGTERM; both are a clean stop (exit 0). A relay a supervisor
 * started with an IPC channel (2020117-devnet does) also stops when that channel closes: the
 * supervisor is gone, killed or not, and a relay left behind would hold its port and file.
 */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
    if (process.send) process.once('disconnect', () => resolve('disconnect'))
  })
}

/** The database's directory, made private (0700): it holds every event, and the relay's state. */
function prepareDbDir(db: string): void {
  try {
    mkdirSync(dirname(db), { recursive: true, mode: 0o700 })
  } catch (err) {
    throw RelaydError.DB_UNUSABLE(db, `its directory cannot be made: ${(err as Error).message}`)
  }
}

/** startRelay, with what the host or the database refuse said as what to do. */
async function openRelay(settings: Settings, goodbye: MainContext['goodbye']): Promise<RunningRelay> {
  let relay: RunningRelay
  try {
    relay = await startRelay(relayOptionsOf(settings))
  } catch (err) {
    throw startError(err, settings)
  }
  // A failure after this point (printing) still closes the database.
  goodbye(() => relay.close())
  return relay
}

/** The system's reason, whether the library wrapped it (RelayError LISTEN_FAILED, its `cause`) or not. */
function startError(err: unknown, { host, port, db }: Settings): unknown {
  const e = err as { code?: unknown; cause?: { code?: unknown; message?: unknown } } | null
  const code = e?.code === 'LISTEN_FAILED' || typeof e?.cause?.code === 'string' ? e?.cause?.code : e?.code
  if (code === 'EADDRINUSE') return RelaydError.PORT_IN_USE(host, port)
  if (code === 'EACCES' && e?.code !== 'STORAGE_FAILED') return RelaydError.PORT_FORBIDDEN(host, port)
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return RelaydError.HOST_UNAVAILABLE(host)
  if (typeof code === 'string' && code.startsWith('SQLITE_'))
    return RelaydError.DB_UNUSABLE(db, String(e?.cause?.message ?? (err as Error).message))
  return err
}
