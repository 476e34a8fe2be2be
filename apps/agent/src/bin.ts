#!/usr/bin/env node
// 2020117-agent: rent out a local service (a Stable Diffusion WebUI, an LLM server) by the minute.

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import HyperDHT from 'hyperdht'
import {
  CliError,
  LOG_FLAGS,
  NETWORK_FLAGS,
  runMain,
  snakeKeys,
  startUp,
  type CommandSpec,
  type Logger,
  type MainContext,
  type Startup
} from '@2020117/cli'
import { ClaimRecord } from '@2020117/files'
import { npubOf, Presence, RelayPool } from '@2020117/nostr'
import { readRunningState, DEFAULT_DEVNET_DIR } from '@2020117/cli/devnet-state'
import { kinds as KIND, MAX_MANIFEST_BYTES, MAX_SATS_PER_MINUTE, MAX_TICK_SECONDS } from '@2020117/protocol'
import { parseBootstrap, type NetworkConfig } from '@2020117/swarm'
import { NwcWallet, WalletError } from '@2020117/wallet'
import { lightningAddressInvoicer, nwcInvoicer, type Invoicer } from './session.js'
import { creditedPath } from './credited.js'
import { Provider, SOFTWARE } from './provider.js'

const spec: CommandSpec = {
  bin: '2020117-agent',
  summary: 'rent out a local service by the minute over Hyperswarm, paid in Lightning through Nostr Wallet Connect',
  usage: [
    '2020117-agent --kind=5200 --processor=http://127.0.0.1:7860 --sats-per-minute=5 --nwc=<uri>',
    '2020117-agent --devnet --sats-per-minute=5'
  ],
  flags: {
    kind: {
      type: 'string',
      multiple: true,
      description: 'service kind to serve (NIP-90 job kind); 5200 = Stable Diffusion WebUI session',
      default: String(KIND.StableDiffusionSession),
      env: 'AGENT_KIND',
      placeholder: 'N'
    },
    processor: {
      type: 'string',
      description: 'the local service to rent out; the only place tunnel traffic goes',
      default: 'http://127.0.0.1:7860',
      env: 'AGENT_PROCESSOR',
      placeholder: 'URL'
    },
    'sats-per-minute': {
      type: 'integer',
      description: 'your price; an integer ≥ 1 (you alone set it)',
      min: 1,
      max: MAX_SATS_PER_MINUTE,
      env: 'AGENT_SATS_PER_MINUTE'
    },
    free: { type: 'boolean', description: 'serve without payment (explicit: there is no other way to run unpaid)' },
    'tick-seconds': {
      type: 'integer',
      description: 'billing period; each period is paid ahead',
      default: 60,
      min: 1,
      max: MAX_TICK_SECONDS,
      env: 'AGENT_TICK_SECONDS'
    },
    'grace-seconds': {
      type: 'integer',
      description: 'an unpaid tick suspends new streams after this, and ends the session after twice this',
      default: 30,
      min: 1,
      max: 3600,
      env: 'AGENT_GRACE_SECONDS'
    },
    'max-sessions': {
      type: 'integer',
      description: 'concurrent customer sessions',
      default: 4,
      min: 1,
      max: 1000,
      env: 'AGENT_MAX_SESSIONS'
    },
    nwc: {
      type: 'string',
      description: 'your wallet (nostr+walletconnect://…), used to make and check invoices',
      env: 'NWC_URI',
      secret: true,
      placeholder: 'URI'
    },
    'lightning-address': {
      type: 'string',
      description: 'receive through LNURL-pay at name@domain when you have no NWC wallet',
      env: 'LIGHTNING_ADDRESS',
      placeholder: 'ADDR'
    },
    'invoice-expiry': {
      type: 'integer',
      description: 'seconds each invoice stays payable',
      default: 600,
      min: 60,
      max: 86_400
    },
    skill: {
      type: 'string',
      description: 'skill manifest JSON file shown to customers (default: generated)',
      env: 'AGENT_SKILL',
      placeholder: 'FILE'
    },
    name: { type: 'string', description: 'name shown to customers', default: '2020117 agent', env: 'AGENT_NAME' },
    'deny-path': {
      type: 'string',
      multiple: true,
      description: 'refuse requests under this path with 403',
      placeholder: 'PATH'
    },
    agent: {
      type: 'string',
      description: 'which entry of the keys file is this agent (created on first run)',
      default: 'default',
      env: 'KEYS_AGENT',
      placeholder: 'NAME'
    },
    'keys-file': {
      type: 'string',
      description: 'the keys file (default: ./.2020117_keys, else ~/.2020117_keys)',
      env: 'KEYS_FILE',
      placeholder: 'PATH'
    },
    devnet: {
      type: 'string',
      description: 'use the local network started by 2020117-devnet (its DHT, relay and provider wallet)',
      optionalValue: DEFAULT_DEVNET_DIR,
      placeholder: 'DIR'
    },
    ...NETWORK_FLAGS,
    json: {
      type: 'boolean',
      description: 'JSON lines on stdout (ready, session events, summary); logs stay on stderr'
    },
    ...LOG_FLAGS
  },
  examples: [
    '2020117-devnet &   # then, in another terminal:',
    '2020117-agent --devnet --sats-per-minute=5',
    '2020117-agent --kind=5200 --processor=http://127.0.0.1:7860 --sats-per-minute=5 --nwc="nostr+walletconnect://…"',
    '2020117-agent --kind=5050 --processor=http://127.0.0.1:11434 --sats-per-minute=2 --tick-seconds=30 --lightning-address=me@getalby.com',
    '2020117-agent --free --processor=http://127.0.0.1:3000 --deny-path=/admin'
  ]
}

const secrets: string[] = []
const argv = process.argv.slice(2)

type Values = Startup['values']
type Goodbye = MainContext['goodbye']

await runMain(
  spec,
  argv,
  async ({ flags: first, json, goodbye, teardown }) => {
    const start = await startUp(spec, argv, first, { name: 'agent', secrets })
    const { values: v, identity, log } = start
    log.info(
      `${identity.created ? 'created' : 'using'} identity "${identity.name}" ${npubOf(identity.entry.pubkey)} (${identity.path})`
    )
    const emit = (event: Record<string, unknown>) => {
      if (json) process.stdout.write(JSON.stringify(snakeKeys(event)) + '\n')
    }
    const terms = termsOf(v)
    const setup = await networkOf(start)
    const invoicer = terms.free ? null : await openInvoicer(start, setup.nwcUri, goodbye)
    const manifest = v.skill ? await readManifest(v.skill as string) : defaultManifest(v.name as string, terms.kinds)
    const provider = await startProvider({ start, terms, setup, invoicer, manifest })
    goodbye(() => provider.close())
    await announce({ start, provider, relays: setup.relays, terms, manifest, goodbye })
    const status = provider.status()
    log.info(
      `ready: serving ${setup.upstream.origin} as kind ${terms.kinds.join(', ')} at ${terms.free ? 'no charge (--free)' : `${status.satsPerMinute} sats/min, billed every ${v['tick-seconds']} s`}; swarm key ${status.swarmKey}`
    )
    const { pubkey } = identity.entry
    emit({ event: 'ready', software: SOFTWARE, pubkey, npub: npubOf(pubkey), ...status })
    provider.on('session_started', (s: Record<string, unknown>) => emit({ event: 'session_started', ...s }))
    provider.on('session_ended', (s: Record<string, unknown>) => emit({ event: 'session_ended', ...s }))
    const signal = await untilSignal()
    log.info(`${signal}: ending ${provider.sessions.size} session(s) and leaving the swarm…`)
    await teardown()
    emit({ event: 'summary', ...provider.status(), sessions: provider.finished })
    log.info(`stopped: ${provider.finished.length} session(s), ${provider.status().msatEarned} msat earned`)
  },
  { secrets: () => secrets }
)

interface Terms {
  kinds: number[]
  free: boolean
}

function termsOf(v: Values): Terms {
  const kinds = (v.kind as string[]).map((k) => {
    if (!/^\d+$/.test(k) || Number(k) > 65535)
      throw CliError.INVALID_FLAG('kind', `must be a number from 0 to 65535, got "${k}"`, spec.bin)
    return Number(k)
  })
  const free = v.free === true
  if (free && v['sats-per-minute'] !== undefined)
    throw CliError.INVALID_FLAG('free', 'cannot be combined with --sats-per-minute', spec.bin)
  if (!free && v['sats-per-minute'] === undefined)
    throw CliError.MISSING_FLAG(
      'sats-per-minute',
      'set your price in sats per minute (or serve explicitly unpaid with --free)'
    )
  return { kinds, free }
}

interface Setup {
  upstream: URL
  network: NetworkConfig
  nwcUri: string | undefined
  relays: string[]
}

/** The upstream, the DHT, the wallet URI and the relays: the flags, else the local network's under --devnet. */
async function networkOf(start: Startup): Promise<Setup> {
  const { values: v, flags, explicit } = start
  const setup: Setup = {
    upstream: parseUpstream(v.processor as string),
    network: { bootstrap: v.bootstrap ? parseBootstrap(v.bootstrap as string) : null },
    nwcUri: v.nwc as string | undefined,
    relays: (v.relays as string[] | undefined) ?? []
  }
  if (v.devnet !== undefined) {
    const state = await readRunningState(v.devnet as string)
    if (!v.bootstrap) setup.network = { bootstrap: state.bootstrap }
    if (!explicit('nwc')) setup.nwcUri = state.accounts.provider?.nwc_uri
    if (!explicit('relays')) setup.relays = state.relays
    // On the local network the demo WebUI is the natural upstream, wherever it listens.
    if (flags.sources.processor === 'default' && state.webui) setup.upstream = parseUpstream(state.webui)
  }
  return setup
}

/** How this provider gets paid: an NWC wallet that makes invoices, else a Lightning address. */
async function openInvoicer(start: Startup, nwcUri: string | undefined, goodbye: Goodbye): Promise<Invoicer> {
  const { values: v, identity, log } = start
  const credited = await ClaimRecord.open(creditedPath(identity.path, identity.name))
  if (nwcUri) {
    const wallet = await NwcWallet.connect(nwcUri)
    goodbye(() => wallet.close())
    start.redact(...wallet.secrets())
    const info = await wallet.info()
    log.info(`wallet ${wallet.displayUri} (${info.alias ?? 'unnamed'}, ${info.network ?? 'network unknown'})`)
    if (!info.methods.includes('make_invoice')) throw CliError.WALLET_CANNOT_INVOICE()
    return nwcInvoicer(wallet, v['invoice-expiry'] as number, credited)
  }
  if (v['lightning-address']) {
    log.warn('receiving through a Lightning address: payments are checked by preimage only (no lookup_invoice)')
    return lightningAddressInvoicer(v['lightning-address'] as string, credited)
  }
  throw WalletError.NO_WALLET('receive')
}

async function startProvider(p: {
  start: Startup
  terms: Terms
  setup: Setup
  invoicer: Invoicer | null
  manifest: Record<string, unknown>
}): Promise<Provider> {
  const { values: v, identity, log } = p.start
  const { kinds, free } = p.terms
  const { network, upstream } = p.setup
  // The swarm key derives from the Nostr key: stable across restarts, so customers can dial it.
  const keyPair = HyperDHT.keyPair(
    createHash('sha256').update('2020117/hyperswarm-key/v1').update(identity.secretKey).digest()
  )
  const provider = new Provider({
    keyPair,
    nostrSecretKey: identity.secretKey,
    network,
    kinds,
    satsPerMinute: (v['sats-per-minute'] as number | undefined) ?? 0,
    free,
    tickSeconds: v['tick-seconds'] as number,
    graceSeconds: v['grace-seconds'] as number,
    maxSessions: v['max-sessions'] as number,
    upstream,
    denyPaths: (v['deny-path'] as string[] | undefined) ?? [],
    manifest: p.manifest,
    invoicer: p.invoicer,
    log
  })
  void probeUpstream(upstream, log)
  log.info(
    `announcing kind ${kinds.join(', ')} on ${network.bootstrap ? 'the DHT at ' + network.bootstrap.map((b) => `${b.host}:${b.port}`).join(',') : 'the public DHT'}…`
  )
  await provider.start()
  watchAnnounces(provider, log)
  return provider
}

/** Profile, handler and heartbeat on the relays, when there are any. */
async function announce(a: {
  start: Startup
  provider: Provider
  relays: string[]
  terms: Terms
  manifest: Record<string, unknown>
  goodbye: Goodbye
}): Promise<void> {
  const { values: v, identity, log } = a.start
  if (a.relays.length === 0) {
    log.warn('no --relays: not announcing on Nostr; customers find this provider on the DHT only')
    return
  }
  // Persistent: a relay that drops is redialled, and the presence published to it again.
  const pool = new RelayPool(a.relays, { persistent: true })
  a.goodbye(() => pool.close())
  const status = a.provider.status()
  const presence = new Presence({
    pool,
    secretKey: identity.secretKey,
    info: {
      name: v.name as string,
      about: String(a.manifest.description ?? ''),
      lud16: (v['lightning-address'] as string | undefined) ?? null,
      kinds: a.terms.kinds,
      satsPerMinute: status.satsPerMinute,
      tickSeconds: v['tick-seconds'] as number,
      manifest: a.manifest,
      swarmKey: status.swarmKey
    },
    load: () => {
      const s = a.provider.status()
      return { capacity: s.capacity, maxSessions: v['max-sessions'] as number, sessions: s.activeSessions }
    },
    log: (m, f) => log.warn(m, f)
  })
  a.goodbye(() => presence.stop())
  await presence.start()
  log.info(`announced on ${a.relays.length} relay(s): profile, handler and heartbeat every minute`)
}

/** The agent runs until SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
}

function parseUpstream(value: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw CliError.INVALID_FLAG('processor', `must be a URL such as http://127.0.0.1:7860, got "${value}"`, spec.bin)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw CliError.INVALID_FLAG('processor', 'must be an http:// or https:// URL', spec.bin)
  if (url.pathname !== '/' || url.search)
    throw CliError.INVALID_FLAG('processor', 'must be an origin only (scheme, host and port), without a path', spec.bin)
  return url
}

async function readManifest(path: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw CliError.INVALID_FLAG('skill', `cannot read ${path}: ${(err as Error).message}`, spec.bin)
  }
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES)
    throw CliError.INVALID_FLAG('skill', `${path} is over ${MAX_MANIFEST_BYTES} bytes`, spec.bin)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw CliError.INVALID_FLAG('skill', `${path} is not valid JSON`, spec.bin)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw CliError.INVALID_FLAG('skill', `${path} must hold a JSON object`, spec.bin)
  return value as Record<string, unknown>
}

function defaultManifest(name: string, kinds: number[]): Record<string, unknown> {
  const sd = kinds.includes(KIND.StableDiffusionSession) || kinds.includes(KIND.ImageGeneration)
  return {
    name,
    description: sd
      ? 'Stable Diffusion WebUI (AUTOMATIC1111 API), rented by the minute'
      : 'a local HTTP service, rented by the minute',
    kinds,
    interface: {
      protocol: 'http',
      features: ['http/1.1', 'websocket', 'sse', 'binary'],
      ...(sd ? { api: 'a1111', txt2img: '/sdapi/v1/txt2img' } : {})
    }
  }
}

/** A network outage under a running agent: the swarm renews its announces itself; say what happens. */
function watchAnnounces(provider: Provider, log: Logger): void {
  provider.swarm.on('announce-lost', (missing: string[]) =>
    log.warn(`the DHT lost this provider's announce (${missing.join(', ')}): announcing again until it holds them`)
  )
  provider.swarm.on('announce-restored', () =>
    log.info("the DHT holds this provider's announces again: new customers can find it")
  )
}

async function probeUpstream(upstream: URL, log: Logger): Promise<void> {
  try {
    await fetch(upstream, { method: 'GET', signal: AbortSignal.timeout(3000) })
  } catch {
    log.warn(`${upstream.origin} does not answer yet: customers will get 502 until it does`)
  }
}
