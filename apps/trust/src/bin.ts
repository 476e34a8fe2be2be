#!/usr/bin/env node
// 2020117-trust: reputation on Nostr (SPEC §11), computed here from signed events. `show` rates one
// provider as you see it; `vouch`, `revoke`, `report` and `review` publish your own signals. Named
// steps: the subcommand → identity (the keys file) → target, relays, wallet (context.ts) → the
// subcommand's work → one output, as lines or one JSON object.

import { CliError, escapeControls, runMain, snakeKeys, startUp, stripControls } from '@2020117/cli'
import { openContext } from './context.js'
import { report, revoke, vouch, type Output } from './publish.js'
import { review } from './review.js'
import { show } from './show.js'
import { COMMANDS, commandSpec, topSpec, type Command } from './specs.js'
import type { Context } from './context.js'

const RUN: Record<Command, (ctx: Context) => Promise<Output>> = { show, vouch, revoke, report, review }

const secrets: string[] = []
const [first, ...rest] = process.argv.slice(2)

if (first !== undefined && (COMMANDS as readonly string[]).includes(first)) {
  await runCommand(first as Command, rest)
} else {
  // No subcommand: --help prints every one; anything else is a usage error.
  const top = topSpec()
  await runMain(top, process.argv.slice(2), async ({ flags }) => {
    const given = flags.positionals[0] ?? first
    if (given === undefined || given.startsWith('-'))
      throw CliError.MISSING_ARGUMENT(`say what to do: ${COMMANDS.join(', ')}. See ${top.bin} --help`)
    if ((COMMANDS as readonly string[]).includes(given))
      throw CliError.INVALID_ARGUMENTS(`the subcommand comes first: ${top.bin} ${given} NPUB [flags]`, top.bin)
    throw CliError.UNEXPECTED_ARGUMENT(given, top.bin)
  })
}

async function runCommand(command: Command, argv: string[]): Promise<void> {
  const spec = commandSpec(command)
  await runMain(
    spec,
    argv,
    async ({ flags, json, goodbye }) => {
      const start = await startUp(spec, argv, flags, { name: 'trust', secrets })
      // `show` only reads: it does not tell the relays who is asking (no NIP-42 with our key).
      const ctx = await openContext(start, spec.bin, goodbye, command !== 'show')
      const out = await RUN[command](ctx)
      if (json) process.stdout.write(escapeControls(JSON.stringify(snakeKeys(out.json))) + '\n')
      else process.stdout.write(out.lines.map(stripControls).join('\n') + '\n')
      return 0
    },
    { secrets: () => secrets }
  )
}
