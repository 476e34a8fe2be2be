// The outer frame of every bin: parse, run, and turn any failure into one clear line (or one JSON
// object with --json) and a stable exit code. Nothing a bin throws escapes as a stack trace.

import { CliError } from './errors.js'
import { helpText, parseFlags, type CommandSpec, type Parsed, type ParseOptions } from './args.js'
import { redactText } from './log.js'
import { peerText } from './text.js'

export interface MainContext {
  flags: Parsed
  json: boolean
}

export async function runMain(
  spec: CommandSpec,
  argv: string[],
  main: (ctx: MainContext) => Promise<number | void>,
  opts: ParseOptions & { secrets?: () => string[] } = {}
): Promise<never> {
  const json = argv.includes('--json')
  let code = 0
  try {
    const flags = parseFlags(spec, argv, opts)
    if (flags.help) {
      process.stdout.write(helpText(spec))
    } else {
      code = (await main({ flags, json })) ?? 0
    }
  } catch (err) {
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
  return err instanceof CliError ? err.exitCode : 1
}

function flushStdout(): Promise<void> {
  return new Promise((resolve) =>
    process.stdout.writableLength === 0 ? resolve() : process.stdout.once('drain', () => resolve())
  )
}
