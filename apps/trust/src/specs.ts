// The flags and --help of 2020117-trust and of each of its subcommands. One table of flags: each
// subcommand takes the shared ones and its own, and `2020117-trust --help` lists them all, each
// flag that only some subcommands take prefixed with their names.

import { identityFlags, LOG_FLAGS, NETWORK_FLAGS, type CommandSpec, type FlagSpec } from '@2020117/cli'
import { POW_TIMEOUT_FLAG } from '@2020117/nostr'
import { DEFAULT_DEVNET_DIR } from '@2020117/cli/devnet-state'
import { kinds, RATING_MAX, RATING_MIN, REPORT_TYPES } from '@2020117/protocol'
import { NETWORK_NAMES } from '@2020117/wallet'

export const COMMANDS = ['show', 'vouch', 'revoke', 'report', 'review'] as const
export type Command = (typeof COMMANDS)[number]

/** The session kind a review names when --kind is not given (SD WebUI sessions, the session bin's default). */
export const DEFAULT_SESSION_KIND = kinds.StableDiffusionSession

const NETWORK_FLAG_HELP =
  "Lightning network proofs and zaps must be on, when no wallet says (default: the wallet's, else regtest with --devnet, else bitcoin)"

const OWN: Record<string, FlagSpec> = {
  anonymous: { type: 'boolean', description: 'rate as a viewer with no graph (nobody followed), not as you' },
  type: {
    type: 'string',
    description: `the NIP-56 report type (required): ${REPORT_TYPES.join(', ')}`,
    choices: REPORT_TYPES
  },
  reason: { type: 'string', description: 'why, in words: the report content', placeholder: 'TEXT' },
  rating: { type: 'integer', description: 'the rating, 1 to 5 (required)', min: RATING_MIN, max: RATING_MAX },
  job: { type: 'string', description: 'the job request id (64 hex) the review is about', placeholder: 'ID' },
  session: { type: 'string', description: 'the session id (32 hex) the review is about', placeholder: 'ID' },
  kind: {
    type: 'integer',
    description: `the service kind (default: the job request's, read from the relays; ${DEFAULT_SESSION_KIND} for a session)`,
    min: 0,
    max: 65_535
  },
  text: { type: 'string', description: 'the review text', placeholder: 'TEXT' },
  bolt11: {
    type: 'string',
    description: 'the invoice you paid, with --preimage, instead of finding it in the wallet',
    placeholder: 'INVOICE'
  },
  preimage: { type: 'string', description: "that payment's preimage (64 hex), with --bolt11", placeholder: 'HEX' },
  nwc: {
    type: 'string',
    description: 'your wallet (nostr+walletconnect://…): its network, and the payment a review proves',
    env: 'NWC_URI',
    secret: true,
    placeholder: 'URI'
  },
  network: { type: 'string', description: NETWORK_FLAG_HELP, choices: NETWORK_NAMES, env: 'LIGHTNING_NETWORK' }
}

const SHARED: Record<string, FlagSpec> = {
  ...identityFlags('you'),
  devnet: {
    type: 'string',
    description: 'use the local network started by 2020117-devnet (its relay, its customer wallet, regtest)',
    optionalValue: DEFAULT_DEVNET_DIR,
    placeholder: 'DIR'
  },
  relays: { ...NETWORK_FLAGS.relays, description: 'Nostr relays read from and published to' },
  timeout: {
    type: 'integer',
    description: 'seconds each relay read or publish may wait',
    default: 10,
    min: 1,
    max: 600
  },
  'pow-timeout': POW_TIMEOUT_FLAG,
  json: { type: 'boolean', description: 'print the result as one JSON line on stdout; logs go to stderr' },
  ...LOG_FLAGS
}

const OWN_FLAGS: Record<Command, string[]> = {
  show: ['anonymous', 'nwc', 'network'],
  vouch: [],
  revoke: [],
  report: ['type', 'reason'],
  review: ['rating', 'job', 'session', 'kind', 'text', 'bolt11', 'preimage', 'nwc', 'network']
}

const NPUB = [{ name: 'NPUB', description: "the provider's public key (npub1… or 64 hex)" }]

const EXITS = [
  'Exit status: 0 done; 1 an error (a relay or wallet failed); 2 a usage error; 3 no relay took the event',
  '(nothing published); 4 no valid proof of payment for the review (nothing published).'
]

const ABOUT: Record<Command, { summary: string; usage: string; examples: string[]; notes?: string[] }> = {
  show: {
    summary: "a provider's reputation as you see it: every term of the score, and the events behind each",
    usage: '2020117-trust show NPUB [--anonymous] [--relays=URL]… [--json]',
    examples: [
      '2020117-trust show npub1… --devnet',
      '2020117-trust show npub1… --relays=wss://relay.example.com --json'
    ]
  },
  vouch: {
    summary: 'publish that you trust a provider (kind 30382, assertion "trusted"; SPEC §11.2)',
    usage: '2020117-trust vouch NPUB [--relays=URL]… [--json]',
    examples: ['2020117-trust vouch npub1… --devnet']
  },
  revoke: {
    summary: 'revoke your vouch for a provider (a kind 5 deleting every version of it)',
    usage: '2020117-trust revoke NPUB [--relays=URL]… [--json]',
    examples: ['2020117-trust revoke npub1… --devnet']
  },
  report: {
    summary: 'report a provider (NIP-56 kind 1984, the type in the p tag)',
    usage: `2020117-trust report NPUB --type=${REPORT_TYPES.join('|')} [--reason=TEXT] [--json]`,
    examples: ['2020117-trust report npub1… --type=spam --reason="returns garbage, keeps the money" --devnet']
  },
  review: {
    summary:
      'review a provider you paid (kind 31117), with the proof of payment found in your wallet (or --bolt11 and --preimage)',
    usage:
      '2020117-trust review NPUB --rating=N --job=ID|--session=ID [--kind=N] [--text=TEXT] [--bolt11=INVOICE --preimage=HEX] [--nwc=URI] [--json]',
    examples: [
      '2020117-trust review npub1… --rating=5 --job=<request id> --text="fast and right" --devnet',
      '2020117-trust review npub1… --rating=2 --session=<session id> --nwc="nostr+walletconnect://…"'
    ],
    notes: [
      "The proof is the provider's invoice whose description names the job or session id and its npub, with the",
      'preimage your wallet got for paying it (NIP-47 list_transactions); it is checked before anything is published.'
    ]
  }
}

function pick(names: string[]): Record<string, FlagSpec> {
  return Object.fromEntries(names.map((n) => [n, OWN[n] as FlagSpec]))
}

export function commandSpec(command: Command): CommandSpec {
  const about = ABOUT[command]
  return {
    bin: `2020117-trust ${command}`,
    summary: about.summary,
    usage: [about.usage],
    positionals: NPUB,
    flags: { ...pick(OWN_FLAGS[command]), ...SHARED },
    notes: [...(about.notes ? [...about.notes, ''] : []), ...EXITS],
    examples: about.examples
  }
}

/** `2020117-trust --help`: every subcommand, and every flag with the subcommands that take it. */
export function topSpec(): CommandSpec {
  const own = Object.fromEntries(
    Object.entries(OWN).map(([name, f]) => {
      const users = COMMANDS.filter((c) => OWN_FLAGS[c].includes(name))
      return [name, { ...f, description: `${users.join(', ')}: ${f.description}` }]
    })
  )
  return {
    bin: '2020117-trust',
    summary: "reputation on Nostr: see a provider's, and vouch, revoke, report or review with proof of payment",
    usage: COMMANDS.map((c) => ABOUT[c].usage),
    positionals: COMMANDS.map((c) => ({ name: c, description: ABOUT[c].summary })),
    flags: { ...own, ...SHARED },
    notes: ['Each subcommand has its own --help: 2020117-trust show --help.', '', ...EXITS],
    examples: COMMANDS.map((c) => ABOUT[c].examples[0] as string)
  }
}
