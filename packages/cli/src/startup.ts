// The start-up every product bin shares, written once: the keys file, flag precedence, the logger and
// secret redaction.
//
// Invariants:
// - Precedence is flag, then environment, then the keys file's entry, then the spec's default: the
//   flags are parsed a second time with the entry as defaults.
// - A secret is registered (the logger redacts it, runMain's error line redacts it) before anything
//   that could print it runs: the Nostr key as soon as it is loaded, the others by `redact`.

import { keyEntryFlags, loadIdentity, secretForms, type Identity } from '@2020117/nostr'
import { setWalletLogSink } from '@2020117/wallet'
import { logLevelOf, parseFlags, type CommandSpec, type FlagValue, type Parsed } from './args.js'
import { createLogger, type Logger } from './log.js'

export interface Startup {
  /** The flags parsed again with the keys file's entry as defaults. */
  flags: Parsed
  values: Record<string, FlagValue>
  identity: Identity
  log: Logger
  /** Given on the command line or in the environment, not taken from the keys file or a default. */
  explicit(name: string): boolean
  /** From here on `secret` (and its other encodings, for a key) never reaches a log or an error line. */
  redact(...secret: string[]): void
}

/**
 * `first` is runMain's parse (flags and environment only); `secrets` is the list runMain redacts from
 * its error line. Needs the spec's `agent` and `keys-file` flags.
 */
export async function startUp(
  spec: CommandSpec,
  argv: string[],
  first: Parsed,
  opts: { name: string; secrets: string[] }
): Promise<Startup> {
  const identity = await loadIdentity({
    name: first.values.agent as string,
    ...(first.values['keys-file'] ? { path: first.values['keys-file'] as string } : {})
  })
  const flags = parseFlags(spec, argv, { file: keyEntryFlags(identity.entry) })
  const log = createLogger({ level: logLevelOf(flags.values), name: opts.name })
  setWalletLogSink(log) // what @getalby/sdk prints goes through this logger, not raw to stderr
  const redact = (...secret: string[]) => {
    for (const s of secret) {
      log.addSecret(s)
      opts.secrets.push(s)
    }
  }
  redact(...secretForms(identity.entry.privkey))
  return {
    flags,
    values: flags.values,
    identity,
    log,
    explicit: (name) => flags.sources[name] === 'flag' || flags.sources[name] === 'env',
    redact
  }
}
