#!/usr/bin/env node
// 2020117-devnet: the local network for the demo and the tests.
//   2020117-devnet [start]            starts DHT, relay, wallet, demo WebUI, Blossom and LNURL in the foreground
//   2020117-devnet balance            prints every wallet account's balance
//   2020117-devnet account create N   makes another funded account on the running devnet

import { join, resolve } from 'node:path'
import { readBalances } from '@2020117/devwallet'
import { CliError, runMain, snakeKeys, type CommandSpec } from '@2020117/cli'
import {
  DEFAULT_BLOSSOM_PORT,
  DEFAULT_DHT_PORT,
  DEFAULT_LNURL_PORT,
  DEFAULT_RELAY_PORT,
  DEFAULT_WEBUI_PORT,
  startDevnet
} from './devnet.js'
import { DevnetError } from './errors.js'
import type { RelayPolicyFlags } from './relay.js'
import { MAX_POW_BITS, parseKindRanges, type PowRule } from '@2020117/protocol'
import { DEFAULT_DEVNET_DIR, readRunningState, statePath } from './state.js'

const dirFlag = {
  type: 'string',
  description: 'where the devnet keeps its state, relay events and wallet ledger',
  default: DEFAULT_DEVNET_DIR,
  env: 'DEVNET_DIR',
  placeholder: 'PATH'
} as const
const jsonFlag = { type: 'boolean', description: 'machine-readable output on stdout' } as const

const startSpec: CommandSpec = {
  bin: '2020117-devnet',
  summary:
    'run the 2020117 local network: HyperDHT bootstrap, Nostr relay, NWC wallet, a demo WebUI, a Blossom blob server and a Lightning-address server for zaps, all on 127.0.0.1',
  usage: [
    '2020117-devnet [start] [flags]',
    '2020117-devnet balance [--dir=PATH] [--json]',
    '2020117-devnet account create NAME [--fund=SATS] [--budget=SATS] [--dir=PATH] [--json]'
  ],
  flags: {
    dir: dirFlag,
    'dht-port': {
      type: 'integer',
      description: 'UDP port of the first DHT bootstrap node (0 = any free port)',
      default: DEFAULT_DHT_PORT,
      min: 0,
      max: 65535,
      env: 'DEVNET_DHT_PORT'
    },
    'relay-port': {
      type: 'integer',
      description: 'TCP port of the Nostr relay (0 = any)',
      default: DEFAULT_RELAY_PORT,
      min: 0,
      max: 65535,
      env: 'DEVNET_RELAY_PORT'
    },
    'webui-port': {
      type: 'integer',
      description: 'TCP port of the demo WebUI (0 = any)',
      default: DEFAULT_WEBUI_PORT,
      min: 0,
      max: 65535,
      env: 'DEVNET_WEBUI_PORT'
    },
    'blossom-port': {
      type: 'integer',
      description: 'TCP port of the Blossom blob server, for NIP-90 results that are links (0 = any)',
      default: DEFAULT_BLOSSOM_PORT,
      min: 0,
      max: 65535,
      env: 'DEVNET_BLOSSOM_PORT'
    },
    'lnurl-port': {
      type: 'integer',
      description: 'TCP port of the Lightning-address server that takes NIP-57 zaps for every account (0 = any)',
      default: DEFAULT_LNURL_PORT,
      min: 0,
      max: 65535,
      env: 'DEVNET_LNURL_PORT'
    },
    'relay-auth': {
      type: 'string',
      description:
        'NIP-42 on the relay: writes (every event from a connection authenticated as its author) or all (NIP-47 reads too); off by default',
      placeholder: 'writes|all'
    },
    'relay-pow': {
      type: 'string',
      multiple: true,
      description:
        "the relay's proof-of-work price per kind, KINDS:BITS, repeatable, or off; default the network's (0,1,3,5,30078:20 and 5000-5999:10)",
      placeholder: 'KINDS:BITS'
    },
    'no-webui': { type: 'boolean', description: 'do not start the demo WebUI (you rent out your own service)' },
    'no-blossom': { type: 'boolean', description: 'do not start the Blossom blob server' },
    'no-lnurl': { type: 'boolean', description: 'do not start the Lightning-address (zap) server' },
    'step-delay': {
      type: 'integer',
      description: 'ms between demo WebUI progress steps',
      default: 150,
      min: 0,
      max: 10_000
    },
    json: { ...jsonFlag, description: 'print the state (with NWC URIs) as one JSON object on stdout once ready' }
  },
  notes: [
    'The NWC URIs printed here spend play money on the local regtest wallet; they are also in',
    '<dir>/devnet.json (mode 0600), which 2020117-agent and 2020117-session read with --devnet[=DIR].'
  ],
  examples: [
    '2020117-devnet',
    '2020117-devnet --dir=/tmp/dn --dht-port=0 --relay-port=0 --webui-port=0 --blossom-port=0 --lnurl-port=0 --json',
    '2020117-devnet balance --json',
    '2020117-devnet account create alice --fund=5000'
  ]
}

const balanceSpec: CommandSpec = {
  bin: '2020117-devnet balance',
  summary: "print every wallet account's balance (works whether or not the devnet runs)",
  usage: ['2020117-devnet balance [--dir=PATH] [--json]'],
  flags: { dir: dirFlag, json: jsonFlag },
  examples: ['2020117-devnet balance', '2020117-devnet balance --json | jq .accounts']
}

const accountSpec: CommandSpec = {
  bin: '2020117-devnet account create',
  summary: 'make another wallet account on the running devnet and print its NWC URI',
  usage: ['2020117-devnet account create NAME [--fund=SATS] [--budget=SATS] [--dir=PATH] [--json]'],
  positionals: [{ name: 'NAME', description: 'lower-case letters, digits, - and _' }],
  flags: {
    dir: dirFlag,
    fund: {
      type: 'integer',
      description: 'sats to credit the new account with',
      default: 0,
      min: 0,
      max: 2_100_000_000_000_000
    },
    budget: {
      type: 'integer',
      description: 'most sats this connection may ever spend (NIP-47 QUOTA_EXCEEDED past it)',
      min: 1
    },
    json: jsonFlag
  },
  examples: [
    '2020117-devnet account create alice --fund=5000',
    '2020117-devnet account create bob --fund=1000 --budget=200 --json'
  ]
}

const argv = process.argv.slice(2)
const [first, second] = argv

if (first === 'balance') {
  await runMain(balanceSpec, argv.slice(1), async ({ flags, json }) => {
    const dir = resolve(flags.values.dir as string)
    const accounts = await readBalances(join(dir, 'wallet'))
    if (accounts === null) throw CliError.NO_DEVNET(statePath(dir))
    if (json) {
      process.stdout.write(
        JSON.stringify(
          snakeKeys({ accounts: accounts.map((a) => ({ ...a, balanceSats: Math.floor(a.balanceMsat / 1000) })) })
        ) + '\n'
      )
      return
    }
    for (const a of accounts)
      process.stdout.write(
        `${a.name.padEnd(16)} ${formatMsat(a.balanceMsat).padStart(18)}   spent ${formatMsat(a.spentMsat)}\n`
      )
  })
} else if (first === 'account') {
  if (second !== 'create') {
    const help = second === undefined || second === '--help' || second === '-h'
    if (help) await runMain(accountSpec, ['--help'], async () => {})
    process.stderr.write(
      `error UNEXPECTED_ARGUMENT: unknown account command "${second}": the only one is "account create NAME"\n`
    )
    process.exit(2)
  }
  await runMain(
    accountSpec,
    argv.slice(2),
    async ({ flags, json }) => {
      const [name, extra] = flags.positionals
      if (!name) throw CliError.MISSING_ARGUMENT('give the account a name, e.g. 2020117-devnet account create alice')
      if (extra) throw CliError.UNEXPECTED_ARGUMENT(extra, accountSpec.bin)
      const state = await readRunningState(flags.values.dir as string)
      const res = await fetch(`${state.control!.url}/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${state.control!.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, fundSats: flags.values.fund, budgetSats: flags.values.budget ?? null })
      })
      const body = (await res.json()) as {
        account?: { name: string; balanceMsat: number; nwcUri: string }
        error?: { code: string; message: string }
      }
      if (!res.ok || !body.account) {
        const err = new DevnetError('CONTROL_FAILED', body.error?.message ?? `HTTP ${res.status}`)
        if (body.error?.code) Object.assign(err, { code: body.error.code })
        throw err
      }
      if (json) process.stdout.write(JSON.stringify(snakeKeys({ account: body.account })) + '\n')
      else
        process.stdout.write(
          `created ${body.account.name} with ${formatMsat(body.account.balanceMsat)}\n${body.account.nwcUri}\n`
        )
    },
    { allowPositionals: true }
  )
} else {
  const args = first === 'start' ? argv.slice(1) : argv
  await runMain(startSpec, args, async ({ flags, json }) => {
    const v = flags.values
    const say = (line: string) => process.stderr.write(line + '\n')
    // Handlers go in before anything starts: a signal during start-up stops it once it is up.
    let signalled: string | null = null
    let onSignal = (signal: string) => void (signalled = signal)
    process.once('SIGINT', () => onSignal('SIGINT'))
    process.once('SIGTERM', () => onSignal('SIGTERM'))
    const devnet = await startDevnet({
      dir: v.dir as string,
      dhtPort: v['dht-port'] as number,
      relayPort: v['relay-port'] as number,
      webuiPort: v['webui-port'] as number,
      webui: !v['no-webui'],
      blossomPort: v['blossom-port'] as number,
      blossom: !v['no-blossom'],
      lnurlPort: v['lnurl-port'] as number,
      lnurl: !v['no-lnurl'],
      relayPolicy: relayPolicy(v['relay-auth'] as string | undefined, v['relay-pow'] as string[] | undefined),
      webuiStepDelayMs: v['step-delay'] as number,
      log: say
    })
    if (json) {
      process.stdout.write(JSON.stringify(snakeKeys({ ok: true, dir: devnet.dir, state: devnet.state })) + '\n')
    } else {
      say('')
      say('wallet accounts (regtest play money):')
      for (const a of devnet.wallet.accounts())
        say(`  ${a.name.padEnd(10)} ${formatMsat(a.balanceMsat).padStart(16)}  ${a.nwcUri}`)
      say('')
      say(`state    ${statePath(devnet.dir)}  (use --devnet=${v.dir as string} with 2020117-agent and 2020117-session)`)
    }
    await new Promise<void>((resolveStop) => {
      onSignal = (signal: string) => {
        say(`\n${signal}: stopping the local network…`)
        void devnet.close().then(() => {
          say('stopped.')
          resolveStop()
        })
      }
      if (signalled) onSignal(signalled)
      else say('ready: the local network is up. Ctrl-C stops it.')
    })
  })
}

function relayPolicy(auth: string | undefined, pow: string[] | undefined): RelayPolicyFlags {
  if (auth !== undefined && auth !== 'writes' && auth !== 'all' && auth !== 'off') {
    throw CliError.INVALID_FLAG('relay-auth', `is writes, all or off, not "${auth.slice(0, 16)}"`, startSpec.bin)
  }
  const policy: RelayPolicyFlags = auth ? { auth } : {}
  if (pow === undefined || pow.length === 0) return policy
  if (pow.length === 1 && pow[0] === 'off') return { ...policy, pow: [] }
  return { ...policy, pow: pow.map(powRule) }
}

function powRule(text: string): PowRule {
  const at = text.lastIndexOf(':')
  const bits = Number(text.slice(at + 1))
  try {
    if (at < 1 || !Number.isInteger(bits) || bits < 0 || bits > MAX_POW_BITS) throw new TypeError('bad bits')
    return { kinds: parseKindRanges(text.slice(0, at)), bits }
  } catch {
    const why = `takes KINDS:BITS such as 5000-5999:10 (bits 0-${MAX_POW_BITS}), or off, not "${text.slice(0, 32)}"`
    throw CliError.INVALID_FLAG('relay-pow', why, startSpec.bin)
  }
}

function formatMsat(msat: number): string {
  const sats = Math.floor(msat / 1000)
  const rest = msat % 1000
  return rest === 0
    ? `${sats.toLocaleString('en-US')} sats`
    : `${sats.toLocaleString('en-US')}.${String(rest).padStart(3, '0')} sats`
}
