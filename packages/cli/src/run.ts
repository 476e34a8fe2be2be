// The outer frame of every bin: parse, run, and turn any failure into one clear line (or one JSON
// object with --json) and a stable exit code. Nothing a bin throws escapes as a stack trace.

import { CliError } from './errors.js'
import { helpText, parseFlags, type CommandSpec, type Parsed, type ParseOptions } from './args.js'
import { redactText } from './log.js'
import { peerText } from './text.js'

// A setting the user must supply is missing (thrown by the wallet and nostr packages): the exit
// status of a flag error.
const USAGE_CODES = new Set(['NO_WALLET', 'NO_RELAYS'])

export interface MainContext {
  flags: Parsed
  json: boolean
  /**
   * Register a resource's teardown where the resource is made. Teardowns run once, the last made
   * first, when `teardown()` is called or at the latest when main returns or throws.
   */
  goodbye(fn: () => unknown): void
  teardown(): Promise<void>
}

/** Teardowns run last made, first undone; one that fails does not stop the others. */
export function createGoodbye(): Pick<MainContext, 'goodbye' | 'teardown'> {
  const fns: Array<() => unknown> = []
  let done: Promise<void> | null = null
  return {
    goodbye: (fn) => void fns.push(fn),
    teardown: () =>
      (done ??= (async () => {
        for (const fn of fns.splice(0).reverse())
          await Promise.resolve()
            .then(fn)
            .catch(() => {})
      })())
  }
}

export async function runMain(
  spec: CommandSpec,
  argv: string[],
  main: (ctx: MainContext) => Promise<number | void>,
  opts: ParseOptions & { secrets?: () => string[] } = {}
): Promise<never> {
  const json = argv.includes('--json')
  const { goodbye, teardown } = createGoodbye()
  let code = 0
  try {
    const flags = parseFlags(spec, argv, opts)
    if (flags.help) {
      process.stdout.write(helpText(spec))
    } else {
      code = (await main({ flags, json, goodbye, teardown })) ?? 0
    }
    await teardown()
  } catch (err) {
    await teardown()
    code = reportError(err, json, opts.secrets?.() ?? [])
  }
  await flushStdout()
  process.exit(code)
}

export function reportError(err: unknown, json: boolean, secrets: string[] = []): number {
  const e = err as { code?: unknown; message?: unknown; exitCode?: unknown }
  const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code) ? e.code : 'INTERNAL_ERROR'
  // A message may quote a peer (a provider's reason): printed stripped of control characters.
  const message = redactText(peerText(typeof e?.message === 'string' ? e.message : String(err), 2000), secrets)
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code, message } }) + '\n')
  process.stderr.write(`error ${code}: ${message}\n`)
  if (code === 'INTERNAL_ERROR' && err instanceof Error && process.env.DEBUG_2020117)
    process.stderr.write(redactText(err.stack ?? '', secrets) + '\n')
  if (err instanceof CliError) return err.exitCode
  return USAGE_CODES.has(code) ? 2 : 1
}

function flushStdout(): Promise<void> {
  return new Promise((resolve) =>
    process.stdout.writableLength === 0 ? resolve() : process.stdout.once('drain', () => resolve())
  )
}
