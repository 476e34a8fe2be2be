// The flags and --help of 2020117-relay. Every policy flag starts from the network's defaults
// (SPEC §12, @2020117/protocol), so a relay started with no flags enforces what clients expect.

import type { CommandSpec } from '@2020117/cli'
import { JOB_REQUEST_POW_BITS, MAX_POW_BITS, SOCIAL_POW_BITS } from '@2020117/protocol'
import { DEFAULT_LIMITS } from '@2020117/relay'

/** 7447: unassigned, clear of the devnet's 20118 and of the usual relay ports 7777 and 8080. */
export const DEFAULT_PORT = 7447
export const DEFAULT_HOST = '127.0.0.1'

const L = DEFAULT_LIMITS
/** The token buckets' defaults as the flags write them (RATE:BURST): @2020117/relay's own. */
export const DEFAULT_RATES = {
  pubkey: `${L.eventsPerSecondPerPubkey}:${L.eventBurstPerPubkey}`,
  connection: `${L.eventsPerSecondPerConnection}:${L.eventBurstPerConnection}`,
  req: `${L.reqsPerSecondPerConnection}:${L.reqBurstPerConnection}`
} as const

export const spec: CommandSpec = {
  bin: '2020117-relay',
  summary:
    "the 2020117 network's Nostr relay: the market's kinds only, proof of work priced per kind with a committed target (NIP-13), NIP-42, NIP-11 that states exactly what it enforces, NIP-09, NIP-40, rate limits, SQLite storage",
  usage: [
    '2020117-relay [--db=PATH] [--port=N] [--host=ADDR] [--public-url=URL] [--auth[=writes|all]]',
    '              [--kinds=LIST|+LIST|any] [--pow=KINDS:BITS]…|--pow=off [--min-pow=N] [--pow-exempt=KEYS]',
    '              [--writers=KEYS] [--retention=DURATION] [--rate-pubkey=RATE:BURST] [--json]'
  ],
  flags: {
    db: {
      type: 'string',
      description:
        'the SQLite database; every event is in it before its OK (default: $XDG_DATA_HOME/2020117/relay.sqlite, else ~/.local/share/2020117/relay.sqlite)',
      env: 'RELAY_DB',
      placeholder: 'PATH'
    },
    port: {
      type: 'integer',
      description: 'TCP port for WebSocket and NIP-11 (0 = any free port)',
      default: DEFAULT_PORT,
      min: 0,
      max: 65535,
      env: 'RELAY_PORT'
    },
    host: {
      type: 'string',
      description: 'address to listen on; anything but loopback opens the relay to the network, and says so',
      default: DEFAULT_HOST,
      env: 'RELAY_HOST',
      placeholder: 'ADDR'
    },
    'public-url': {
      type: 'string',
      description:
        "the ws(s):// URL clients dial, for NIP-42's relay tag behind a proxy (default: the bound ws:// URL)",
      env: 'RELAY_PUBLIC_URL',
      placeholder: 'URL'
    },
    auth: {
      type: 'string',
      description:
        "NIP-42: 'writes' (--auth alone) takes an event only from a connection authenticated as its author; 'all' also shows wallet messages (23194/23195) only to their author or p",
      default: 'off',
      optionalValue: 'writes',
      choices: ['off', 'writes', 'all'],
      placeholder: 'MODE'
    },
    kinds: {
      type: 'string',
      description:
        "kinds accepted, e.g. 0,1,5000-5999; '+LIST' adds to the default, the market's kinds of SPEC §12.1; 'any' takes every kind",
      placeholder: 'LIST'
    },
    pow: {
      type: 'string',
      multiple: true,
      description: `proof of work per kind, e.g. 5000-5999:10; the rules given replace the default table (0,1,3,5,30078:${SOCIAL_POW_BITS} and 5000-5999:${JOB_REQUEST_POW_BITS}); 'off' for none`,
      placeholder: 'KINDS:BITS'
    },
    'min-pow': {
      type: 'integer',
      description: 'proof of work every kind needs, below the per-kind table',
      default: 0,
      min: 0,
      max: MAX_POW_BITS
    },
    'pow-exempt': {
      type: 'string',
      multiple: true,
      description: 'authors excused the proof of work (hex or npub, comma-separated)',
      placeholder: 'KEYS'
    },
    writers: {
      type: 'string',
      multiple: true,
      description: 'only these authors may publish (hex or npub, comma-separated; default: anyone)',
      placeholder: 'KEYS'
    },
    retention: {
      type: 'string',
      description:
        'regular events older than this are deleted: 30d, 12h, 90m, 3600s (a bare number is days); replaceable events stay (default: kept)',
      placeholder: 'DURATION'
    },
    'rate-pubkey': {
      type: 'string',
      description: 'events per second one author may publish, and the burst it may save up',
      default: DEFAULT_RATES.pubkey,
      placeholder: 'RATE:BURST'
    },
    'rate-connection': {
      type: 'string',
      description: 'events per second one connection may send, and its burst',
      default: DEFAULT_RATES.connection,
      placeholder: 'RATE:BURST'
    },
    'rate-req': {
      type: 'string',
      description: 'subscriptions (REQ) per second one connection may open, and its burst',
      default: DEFAULT_RATES.req,
      placeholder: 'RATE:BURST'
    },
    'connections-per-address': {
      type: 'integer',
      description: 'open connections one IP address may hold; loopback (127.0.0.1, ::1) is exempt',
      default: L.maxConnectionsPerAddress,
      min: 1,
      max: 1_000_000
    },
    json: { type: 'boolean', description: 'print one JSON line when ready and one when stopped, on stdout' }
  },
  notes: [
    'Refusals (the OK message of NIP-01): pow: (too little committed proof of work), blocked: (kind not',
    'accepted, author not a writer, event deleted), rate-limited:, invalid:, restricted:, auth-required:.',
    'SIGINT or SIGTERM closes the database and exits 0. Exit status: 0 stopped; 1 the database cannot',
    'be used (DB_UNUSABLE); 2 a usage error (a flag, or a port or address that cannot be listened on).'
  ],
  examples: [
    '2020117-relay --db=./relay.sqlite',
    '2020117-relay --host=0.0.0.0 --public-url=wss://relay.example.com --auth',
    '2020117-relay --db=/tmp/r.sqlite --port=0 --pow=5000-5999:12 --pow=0,1,3,5,30078:16 --json',
    '2020117-relay --kinds=+30023 --retention=90d'
  ]
}
