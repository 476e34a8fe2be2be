#!/usr/bin/env node
// 2020117-agent: rent out a local service (a Stable Diffusion WebUI, an LLM server) by the minute
// over Hyperswarm, and sell one-shot NIP-90 jobs on Nostr relays (jobs/). Either half, or both.

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
import { uploadBlob } from '@2020117/blossom'
import { lightningAddressInvoicer, nwcInvoicer, type Invoicer } from './session.js'
import { creditedPath } from './credited.js'
import { Provider, SOFTWARE } from './provider.js'
import {
  createProcessor,
  IMAGE_KINDS,
  OLLAMA_ORIGIN,
  ProcessorError,
  type ApiName,
  type Processor
} from './processors/index.js'
import { halvesOf, jobKindsOf, jobPricesOf, type Halves } from './jobs/terms.js'
import { JobService } from './jobs/service.js'
import { JobStore, jobStorePaths } from './jobs/store.js'
import { nwcJobWallet, type JobWallet } from './jobs/payment.js'
import type { BlobUploader } from './jobs/output.js'

const spec: CommandSpec = {
  bin: '2020117-agent',
  summary:
    'rent out a local service by the minute over Hyperswarm, and sell NIP-90 jobs on Nostr relays, paid in Lightning through Nostr Wallet Connect',
  usage: [
    '2020117-agent --kind=5200 --processor=http://127.0.0.1:7860 --sats-per-minute=5 --nwc=<uri>',
    '2020117-agent --kind=5302 --processor=exec:./translate.sh --job-price=3 --relays=wss://… --nwc=<uri>',
    '2020117-agent --devnet --sats-per-minute=5 [--job-price=2]'
  ],
  flags: {
    kind: {
      type: 'string',
      multiple: true,
      description:
        'service kind to serve (NIP-90 job kind); 5200 = Stable Diffusion WebUI session; jobs are served for the kinds 5000-5999',
      default: String(KIND.StableDiffusionSession),
      env: 'AGENT_KIND',
      placeholder: 'N'
    },
    processor: {
      type: 'string',
      description:
        'what does the work: http(s)://host:port (sessions and jobs; the only place tunnel traffic goes), exec:PATH [ARGS…] or ollama (jobs only)',
      default: 'http://127.0.0.1:7860',
      env: 'AGENT_PROCESSOR',
      placeholder: 'URL|exec:CMD|ollama'
    },
    'sats-per-minute': {
      type: 'integer',
      description:
        'your session price per minute; an integer ≥ 1 (you alone set it); sessions are rented when it is set (or --free)',
      min: 1,
      max: MAX_SATS_PER_MINUTE,
      env: 'AGENT_SATS_PER_MINUTE'
    },
    free: {
      type: 'boolean',
      description:
        'serve without payment (explicit: there is no other way to run unpaid); jobs too only when asked for (--jobs)'
    },
    jobs: {
      type: 'boolean',
      description: 'sell jobs on the relays (implied by --job-price, an exec: or ollama processor, or --no-sessions)'
    },
    'no-sessions': { type: 'boolean', description: 'do not rent sessions on the DHT (jobs only)' },
    'no-jobs': { type: 'boolean', description: 'do not sell jobs on the relays (sessions only)' },
    'job-price': {
      type: 'string',
      multiple: true,
      description:
        'price of one job in sats: SATS for every job kind, KIND:SATS for one (or --jobs --free: unpaid); jobs need relays',
      env: 'AGENT_JOB_PRICE',
      placeholder: '[KIND:]SATS'
    },
    'pay-after': {
      type: 'boolean',
      description: 'work first, and send the invoice with the result (you risk the work: see the README)'
    },
    'job-timeout': {
      type: 'integer',
      description: 'seconds one job may run (the processor is stopped after it)',
      default: 120,
      min: 1,
      max: 3600,
      env: 'AGENT_JOB_TIMEOUT'
    },
    'job-payment-seconds': {
      type: 'integer',
      description: 'how long an unpaid job waits for its payment (and its invoice stays payable)',
      default: 120,
      min: 5,
      max: 3600
    },
    'max-jobs': {
      type: 'integer',
      description: 'jobs in flight at once, those waiting for payment included',
      default: 4,
      min: 1,
      max: 1000,
      env: 'AGENT_MAX_JOBS'
    },
    'max-output': {
      type: 'integer',
      description: 'largest output of one job, in bytes',
      default: 16 * 1024 * 1024,
      min: 1024,
      max: 1024 * 1024 * 1024,
      placeholder: 'BYTES'
    },
    blossom: {
      type: 'string',
      description: 'Blossom server for image and large outputs (under --devnet: the local one)',
      env: 'AGENT_BLOSSOM',
      placeholder: 'URL'
    },
    api: {
      type: 'string',
      description: "the http processor's API for jobs: a1111, ollama or openai (detected when not given)",
      choices: ['a1111', 'ollama', 'openai']
    },
    model: {
      type: 'string',
      description: 'the model jobs ask an Ollama or OpenAI-compatible processor for',
      placeholder: 'NAME'
    },
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
      description:
        'use the local network started by 2020117-devnet (its DHT, relay, Blossom server and provider wallet; relays on loopback may be answered)',
      optionalValue: DEFAULT_DEVNET_DIR,
      placeholder: 'DIR'
    },
    ...NETWORK_FLAGS,
    json: {
      type: 'boolean',
      description: 'JSON lines on stdout (ready, session and job events, summary); logs stay on stderr'
    },
    ...LOG_FLAGS
  },
  examples: [
    '2020117-devnet &   # then, in another terminal:',
    '2020117-agent --devnet --sats-per-minute=5',
    '2020117-agent --kind=5200 --processor=http://127.0.0.1:7860 --sats-per-minute=5 --nwc="nostr+walletconnect://…"',
    '2020117-agent --kind=5050 --processor=http://127.0.0.1:11434 --sats-per-minute=2 --tick-seconds=30 --lightning-address=me@getalby.com',
    '2020117-agent --free --processor=http://127.0.0.1:3000 --deny-path=/admin',
    '2020117-agent --devnet --kind=5302 --processor="exec:./apps/agent/examples/translate.sh" --job-price=3',
    '2020117-agent --kind=5050 --processor=ollama --model=llama3.2 --job-price=5050:2 --no-sessions --relays=wss://…'
  ],
  notes: [
    'Jobs (NIP-90): requests of the --kind values 5000-5999 that are broadcast or p-tagged to this agent are paid first (7000 payment-required with a bolt11, checked by lookup_invoice and preimage), then worked and answered (result and success). Answers go to our relays and to the relays a request names, except relays on loopback or private addresses that are not ours (allowed under --devnet). Job state (handled requests, cursor, jobs in flight) is kept beside the keys file.'
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
    const { identity, log } = start
    log.info(
      `${identity.created ? 'created' : 'using'} identity "${identity.name}" ${npubOf(identity.entry.pubkey)} (${identity.path})`
    )
    const emit = (event: Record<string, unknown>) => {
      if (json) process.stdout.write(JSON.stringify(snakeKeys(event)) + '\n')
    }
    const setup = await networkOf(start)
    const plan = planOf(start, setup)
    const money = await openMoney(start, setup, plan, goodbye)
    const pool = setup.relays.length > 0 ? openPool(setup.relays, goodbye) : null
    const provider = plan.halves.sessions ? await startSessions(start, plan, setup, money, goodbye) : null
    const jobs = plan.jobs && pool ? await startJobService(start, plan, setup, money, pool, emit, goodbye) : null
    await announce({ start, provider, jobs, pool, plan, goodbye })
    emit({ event: 'ready', software: SOFTWARE, ...readyOf(start, plan, provider, jobs) })
    provider?.on('session_started', (s: Record<string, unknown>) => emit({ event: 'session_started', ...s }))
    provider?.on('session_ended', (s: Record<string, unknown>) => emit({ event: 'session_ended', ...s }))
    const signal = await untilSignal()
    log.info(`${signal}: ending ${provider?.sessions.size ?? 0} session(s), stopping ${jobs?.inFlight ?? 0} job(s)…`)
    await teardown()
    emit({ event: 'summary', ...provider?.status(), sessions: provider?.finished ?? [], ...jobSummaryOf(jobs) })
    log.info(`stopped: ${stoppedLine(provider, jobs)}`)
  },
  { secrets: () => secrets }
)

interface Terms {
  kinds: number[]
  free: boolean
}

interface Plan {
  terms: Terms
  halves: Halves
  /** Job mode's kinds and prices (msat), when jobs run. */
  jobs: { kinds: number[]; prices: Map<number, number> } | null
  manifest: Record<string, unknown>
}

/** What runs, at what price: every flag rule checked before anything starts. */
function planOf(start: Startup, setup: Setup): Plan {
  const v = start.values
  const terms = termsOf(v)
  const halves = halvesOf(start, setup.relays)
  let jobs: Plan['jobs'] = null
  if (halves.jobs) {
    const kinds = jobKindsOf(terms.kinds)
    jobs = { kinds, prices: jobPricesOf(v['job-price'] as string[] | undefined, kinds, terms.free) }
  }
  if (!halves.sessions)
    start.log.info('not renting sessions (no --sats-per-minute, --no-sessions, or a jobs-only processor)')
  if (!halves.jobs && v['no-jobs'] !== true && setup.relays.length > 0)
    start.log.info('not selling jobs: set --job-price=SATS to sell them on the relays')
  const manifest = defaultManifest(v.name as string, terms.kinds)
  return { terms, halves, jobs, manifest }
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
  return { kinds, free }
}

interface Setup {
  processor: string
  network: NetworkConfig
  nwcUri: string | undefined
  relays: string[]
  blossom: string | null
}

/** The processor, the DHT, the wallet URI, the relays and Blossom: the flags, else the local network's under --devnet. */
async function networkOf(start: Startup): Promise<Setup> {
  const { values: v, flags, explicit } = start
  const setup: Setup = {
    processor: v.processor as string,
    network: { bootstrap: v.bootstrap ? parseBootstrap(v.bootstrap as string) : null },
    nwcUri: v.nwc as string | undefined,
    relays: (v.relays as string[] | undefined) ?? [],
    blossom: (v.blossom as string | undefined) ?? null
  }
  if (v.devnet !== undefined) {
    const state = await readRunningState(v.devnet as string)
    if (!v.bootstrap) setup.network = { bootstrap: state.bootstrap }
    if (!explicit('nwc')) setup.nwcUri = state.accounts.provider?.nwc_uri
    if (!explicit('relays')) setup.relays = state.relays
    if (!explicit('blossom')) setup.blossom = state.blossom ?? null
    // On the local network the demo WebUI is the natural upstream, wherever it listens.
    if (flags.sources.processor === 'default' && state.webui) setup.processor = state.webui
  }
  return setup
}

interface Money {
  /** The session invoicer; null when sessions are free or off. */
  invoicer: Invoicer | null
  /** The job wallet; null when jobs are free or off. */
  jobWallet: JobWallet | null
  /** The one record of credited payment hashes, shared by sessions and jobs (one writer per file). */
  credited: ClaimRecord
}

/** How this provider gets paid: an NWC wallet that makes invoices, else (sessions only) a Lightning address. */
async function openMoney(start: Startup, setup: Setup, plan: Plan, goodbye: Goodbye): Promise<Money> {
  const { values: v, identity, log } = start
  const credited = await ClaimRecord.open(creditedPath(identity.path, identity.name))
  const paidJobs = plan.jobs !== null && !plan.terms.free
  const paidSessions = plan.halves.sessions && !plan.terms.free
  if (!paidJobs && !paidSessions) return { invoicer: null, jobWallet: null, credited }
  if (setup.nwcUri) {
    const wallet = await NwcWallet.connect(setup.nwcUri)
    goodbye(() => wallet.close())
    start.redact(...wallet.secrets())
    const info = await wallet.info()
    log.info(`wallet ${wallet.displayUri} (${info.alias ?? 'unnamed'}, ${info.network ?? 'network unknown'})`)
    if (!info.methods.includes('make_invoice')) throw CliError.WALLET_CANNOT_INVOICE()
    return {
      invoicer: paidSessions ? nwcInvoicer(wallet, v['invoice-expiry'] as number, credited) : null,
      jobWallet: paidJobs ? nwcJobWallet(wallet) : null,
      credited
    }
  }
  if (paidJobs)
    throw CliError.MISSING_FLAG('nwc', 'jobs are paid first and checked with lookup_invoice: give --nwc=URI')
  if (v['lightning-address']) {
    log.warn('receiving through a Lightning address: payments are checked by preimage only (no lookup_invoice)')
    return { invoicer: lightningAddressInvoicer(v['lightning-address'] as string, credited), jobWallet: null, credited }
  }
  throw WalletError.NO_WALLET('receive')
}

/** Persistent: a relay that drops is redialled, subscriptions reopened and the presence published again. */
function openPool(relays: string[], goodbye: Goodbye): RelayPool {
  const pool = new RelayPool(relays, { persistent: true })
  goodbye(() => pool.close())
  return pool
}

async function startSessions(
  start: Startup,
  plan: Plan,
  setup: Setup,
  money: Money,
  goodbye: Goodbye
): Promise<Provider> {
  const { values: v, identity, log } = start
  const { kinds, free } = plan.terms
  const { network } = setup
  const upstream = parseUpstream(setup.processor === 'ollama' ? OLLAMA_ORIGIN : setup.processor)
  // The swarm key derives from the Nostr key: stable across restarts, so customers can dial it.
  const keyPair = HyperDHT.keyPair(
    createHash('sha256').update('2020117/hyperswarm-key/v1').update(identity.secretKey).digest()
  )
  const manifest = v.skill ? await readManifest(v.skill as string) : plan.manifest
  plan.manifest = manifest
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
    manifest,
    invoicer: money.invoicer,
    log
  })
  goodbye(() => provider.close())
  void probeUpstream(upstream, log)
  log.info(
    `announcing kind ${kinds.join(', ')} on ${network.bootstrap ? 'the DHT at ' + network.bootstrap.map((b) => `${b.host}:${b.port}`).join(',') : 'the public DHT'}…`
  )
  await provider.start()
  watchAnnounces(provider, log)
  const status = provider.status()
  log.info(
    `sessions: serving ${upstream.origin} as kind ${kinds.join(', ')} at ${free ? 'no charge (--free)' : `${status.satsPerMinute} sats/min, billed every ${v['tick-seconds']} s`}; swarm key ${status.swarmKey}`
  )
  return provider
}

/** Job mode: the processor, the job state beside the keys file, Blossom, then the subscription. */
async function startJobService(
  start: Startup,
  plan: Plan,
  setup: Setup,
  money: Money,
  pool: RelayPool,
  emit: (event: Record<string, unknown>) => void,
  goodbye: Goodbye
): Promise<JobService> {
  const { values: v, identity, log } = start
  const { kinds, prices } = plan.jobs!
  const processor = processorOf(setup.processor, v)
  const store = await JobStore.open(jobStorePaths(identity.path, identity.name))
  const secretKey = identity.secretKey
  const upload = setup.blossom ? blossomUploader(setup.blossom, secretKey) : null
  const service = new JobService({
    kinds,
    terms: {
      pubkey: identity.entry.pubkey,
      secretKey,
      priceMsat: (k) => prices.get(k) ?? 0,
      imageOutput: (k) => IMAGE_KINDS.includes(k) || processor.imageOutput?.(k) === true
    },
    payAfter: v['pay-after'] === true,
    maxJobs: v['max-jobs'] as number,
    secretKey,
    store,
    credited: money.credited,
    wallet: money.jobWallet,
    processor,
    pool,
    reach: { own: setup.relays, local: v.devnet !== undefined },
    timeoutMs: (v['job-timeout'] as number) * 1000,
    maxOutputBytes: v['max-output'] as number,
    paymentSeconds: v['job-payment-seconds'] as number,
    upload,
    log,
    emit
  })
  goodbye(() => service.stop())
  await service.start()
  const priced = kinds.map((k) => `${k} at ${(prices.get(k) ?? 0) / 1000} sats`).join(', ')
  log.info(
    `jobs: ${processor.describe} for kind ${priced}${v['pay-after'] ? ' (paid after the work)' : ''}, on ${setup.relays.length} relay(s)${upload ? `, blobs to ${setup.blossom}` : ''}`
  )
  return service
}

function processorOf(value: string, v: Values): Processor {
  try {
    return createProcessor(value, {
      ...(v.api ? { api: v.api as ApiName } : {}),
      ...(v.model ? { model: v.model as string } : {})
    })
  } catch (err) {
    if (err instanceof ProcessorError) throw CliError.INVALID_FLAG('processor', err.message, spec.bin)
    throw err
  }
}

function blossomUploader(server: string, secretKey: Uint8Array): BlobUploader {
  return async (data, mime) => {
    const blob = await uploadBlob(server, data, { secretKey, mime })
    return { url: blob.url, sha256: blob.sha256 }
  }
}

function readyOf(
  start: Startup,
  plan: Plan,
  provider: Provider | null,
  jobs: JobService | null
): Record<string, unknown> {
  const { pubkey } = start.identity.entry
  return {
    pubkey,
    npub: npubOf(pubkey),
    kinds: plan.terms.kinds,
    sessions: provider !== null,
    ...provider?.status(),
    jobs: jobs !== null,
    jobKinds: plan.jobs?.kinds ?? [],
    jobPrices: plan.jobs ? Object.fromEntries([...plan.jobs.prices].map(([k, msat]) => [String(k), msat / 1000])) : {}
  }
}

/** Profile, handler and heartbeat on the relays, when there are any. */
async function announce(a: {
  start: Startup
  provider: Provider | null
  jobs: JobService | null
  pool: RelayPool | null
  plan: Plan
  goodbye: Goodbye
}): Promise<void> {
  const { values: v, identity, log } = a.start
  if (a.pool === null) {
    log.warn('no --relays: not announcing on Nostr; customers find this provider on the DHT only')
    return
  }
  const status = a.provider?.status()
  const jobPrices = a.plan.jobs ? [...a.plan.jobs.prices].map(([k, msat]) => [k, msat / 1000] as const) : []
  const presence = new Presence({
    pool: a.pool,
    secretKey: identity.secretKey,
    info: {
      name: v.name as string,
      about: String(a.plan.manifest.description ?? ''),
      lud16: (v['lightning-address'] as string | undefined) ?? null,
      kinds: status ? a.plan.terms.kinds : [],
      satsPerMinute: status?.satsPerMinute ?? 0,
      tickSeconds: v['tick-seconds'] as number,
      manifest: a.plan.manifest,
      swarmKey: status?.swarmKey ?? null,
      jobPrices: Object.fromEntries(jobPrices)
    },
    load: () => {
      const s = a.provider?.status()
      return { capacity: s?.capacity ?? 0, maxSessions: v['max-sessions'] as number, sessions: s?.activeSessions ?? 0 }
    },
    log: (m, f) => log.warn(m, f)
  })
  a.goodbye(() => presence.stop())
  await presence.start()
  log.info(`announced on ${a.pool.relays.length} relay(s): profile, handler and heartbeat every minute`)
}

/** The jobs' figures of the summary, beside the sessions' (`msat_earned` is the sessions'). */
function jobSummaryOf(jobs: JobService | null): Record<string, number> {
  const t = jobs?.tally ?? { delivered: 0, refused: 0, failed: 0, cancelled: 0, msatEarned: 0 }
  return {
    jobsDelivered: t.delivered,
    jobsRefused: t.refused,
    jobsFailed: t.failed,
    jobsCancelled: t.cancelled,
    jobMsatEarned: t.msatEarned
  }
}

function stoppedLine(provider: Provider | null, jobs: JobService | null): string {
  const parts: string[] = []
  if (provider) parts.push(`${provider.finished.length} session(s), ${provider.status().msatEarned} msat earned`)
  if (jobs) {
    const t = jobs.tally
    parts.push(
      `jobs: ${t.delivered} delivered, ${t.refused} refused, ${t.failed} failed, ${t.cancelled} cancelled, ${t.msatEarned} msat earned`
    )
  }
  return parts.join('; ') || 'nothing ran'
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
