#!/usr/bin/env node
// 2020117-agent: rent out a local service (a Stable Diffusion WebUI, an LLM server) by the minute
// over Hyperswarm, and sell one-shot NIP-90 jobs on Nostr relays (jobs/). Either half, or both.
// Its flags are spec.ts's, and what they ask for is read into a plan (plan.ts) before anything
// starts; this file runs the plan: the money, the relays, the halves, the announce, the end.

// First, before the first collection: see the module.
import './heap-growth.js'
import { createHash } from 'node:crypto'
import HyperDHT from 'hyperdht'
import { CliError, runMain, snakeKeys, startUp, type Logger, type MainContext, type Startup } from '@2020117/cli'
import { ClaimRecord } from '@2020117/files'
import { npubOf, powTimeoutMs, Presence, RelayPool } from '@2020117/nostr'
import { knownNetwork, NwcWallet, walletNetworkName, WalletError, type NetworkName } from '@2020117/wallet'
import { uploadBlob } from '@2020117/blossom'
import { lightningAddressInvoicer, nwcInvoicer, type Invoicer } from './session.js'
import { creditedPath } from './credited.js'
import { Provider, SOFTWARE } from './provider.js'
import { IMAGE_KINDS, OLLAMA_ORIGIN } from './processors/index.js'
import { JobService } from './jobs/service.js'
import { JobStore, jobStorePaths } from './jobs/store.js'
import { nwcJobWallet, type JobWallet } from './jobs/payment.js'
import type { BlobUploader } from './jobs/output.js'
import { ReportedCustomers } from './jobs/reported.js'
import { ZapTotal } from './jobs/zap-total.js'
import { spec } from './spec.js'
import { networkOf, parseUpstream, planOf, processorOf, readManifest, type Plan, type Setup } from './plan.js'

const secrets: string[] = []
const argv = process.argv.slice(2)

type Goodbye = MainContext['goodbye']
type Emit = (event: Record<string, unknown>) => void

interface Running {
  provider: Provider | null
  jobs: JobService | null
}

await runMain(
  spec,
  argv,
  async ({ flags: first, json, goodbye, teardown }) => {
    const start = await startUp(spec, argv, first, { name: 'agent', secrets })
    const emit: Emit = (event) => {
      if (json) process.stdout.write(JSON.stringify(snakeKeys(event)) + '\n')
    }
    const running = await serve(start, emit, goodbye)
    const signal = await untilSignal()
    await stop(signal, start, running, emit, teardown)
  },
  { secrets: () => secrets }
)

/** Reads the plan, then starts what it says: the money, the relays, either half or both, the announce. */
async function serve(start: Startup, emit: Emit, goodbye: Goodbye): Promise<Running> {
  const { identity, log } = start
  log.info(
    `${identity.created ? 'created' : 'using'} identity "${identity.name}" ${npubOf(identity.entry.pubkey)} (${identity.path})`
  )
  const setup = await networkOf(start)
  const plan = planOf(start, setup)
  const money = await openMoney(start, setup, plan, goodbye)
  const pool = setup.relays.length > 0 ? openPool(setup.relays, start, goodbye) : null
  const provider = plan.halves.sessions ? await startSessions(start, plan, setup, money, goodbye) : null
  const jobs = plan.jobs && pool ? await startJobService(start, plan, setup, money, pool, emit, goodbye) : null
  await announce({ start, provider, jobs, pool, plan, goodbye })
  emit({ event: 'ready', software: SOFTWARE, ...readyOf(start, plan, provider, jobs) })
  provider?.on('session_started', (s: Record<string, unknown>) => emit({ event: 'session_started', ...s }))
  provider?.on('session_ended', (s: Record<string, unknown>) => emit({ event: 'session_ended', ...s }))
  return { provider, jobs }
}

/** Ends every session and stops every job (teardown), then says what both halves did. */
async function stop(
  signal: string,
  start: Startup,
  { provider, jobs }: Running,
  emit: Emit,
  teardown: MainContext['teardown']
): Promise<void> {
  const { log } = start
  log.info(`${signal}: ending ${provider?.sessions.size ?? 0} session(s), stopping ${jobs?.inFlight ?? 0} job(s)…`)
  await teardown()
  emit({ event: 'summary', ...provider?.status(), sessions: provider?.finished ?? [], ...jobSummaryOf(jobs) })
  log.info(`stopped: ${stoppedLine(provider, jobs)}`)
}

interface Money {
  /** The session invoicer; null when sessions are free or off. */
  invoicer: Invoicer | null
  /** The job wallet; null when jobs are free or off. */
  jobWallet: JobWallet | null
  /** The one record of credited payment hashes, shared by sessions and jobs (one writer per file). */
  credited: ClaimRecord
  /** The network the NWC wallet says it is on; null when there is none or it does not say. */
  network: NetworkName | null
}

/** How this provider gets paid: an NWC wallet that makes invoices, else (sessions only) a Lightning address. */
async function openMoney(start: Startup, setup: Setup, plan: Plan, goodbye: Goodbye): Promise<Money> {
  const { values: v, identity, log } = start
  const credited = await ClaimRecord.open(creditedPath(identity.path, identity.name))
  const paidJobs = plan.jobs !== null && !plan.terms.free
  const paidSessions = plan.halves.sessions && !plan.terms.free
  if (!paidJobs && !paidSessions) return { invoicer: null, jobWallet: null, credited, network: null }
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
      credited,
      network: knownNetwork(walletNetworkName(info.network))
    }
  }
  if (paidJobs)
    throw CliError.MISSING_FLAG('nwc', 'jobs are paid first and checked with lookup_invoice: give --nwc=URI')
  if (v['lightning-address']) {
    log.warn('receiving through a Lightning address: payments are checked by preimage only (no lookup_invoice)')
    const invoicer = lightningAddressInvoicer(v['lightning-address'] as string, credited)
    return { invoicer, jobWallet: null, credited, network: null }
  }
  throw WalletError.NO_WALLET('receive')
}

/**
 * Persistent: a relay that drops is redialled, subscriptions reopened and the presence published
 * again. With our key: it authenticates (NIP-42) and mines what the relays price (the profile).
 */
function openPool(relays: string[], start: Startup, goodbye: Goodbye): RelayPool {
  const { identity, log, values } = start
  const pool = new RelayPool(relays, {
    persistent: true,
    secretKey: identity.secretKey,
    powTimeoutMs: powTimeoutMs(values),
    log
  })
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
    emit,
    ...(await reputationGates(start, plan, setup, money, pool))
  })
  goodbye(() => service.stop())
  await service.start()
  const priced = kinds.map((k) => `${k} at ${(prices.get(k) ?? 0) / 1000} sats`).join(', ')
  log.info(
    `jobs: ${processor.describe} for kind ${priced}${v['pay-after'] ? ' (paid after the work)' : ''}, on ${setup.relays.length} relay(s)${upload ? `, blobs to ${setup.blossom}` : ''}`
  )
  return service
}

/**
 * What a job request may ask of our reputation (min_zap_sats) and whom we do not serve
 * (--ignore-reported). Our reports are followed before the first request is read.
 */
async function reputationGates(
  start: Startup,
  plan: Plan,
  setup: Setup,
  money: Money,
  pool: RelayPool
): Promise<{ zapTotal: ZapTotal; reported: ReportedCustomers | null }> {
  const { values: v, identity, log } = start
  // Receipts are counted on our wallet's network; a free agent has no wallet and takes the network's.
  const network = money.network ?? (v.devnet !== undefined ? 'regtest' : 'bitcoin')
  const zapTotal = new ZapTotal({ pool, recipient: identity.entry.pubkey, zapAddress: plan.zapAddress, network, log })
  if (v['ignore-reported'] !== true) return { zapTotal, reported: null }
  const reported = new ReportedCustomers(identity.entry.pubkey)
  const sub = reported.follow(pool, log)
  await sub.ready
  log.info(
    `--ignore-reported: ${reported.size} report(s) of ours on ${setup.relays.length} relay(s); the customers they name get no answer`
  )
  return { zapTotal, reported }
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
      lud16: a.plan.zapAddress,
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
  // The profile may cost proof of work (20 bits by default): it is mined beside the heartbeats.
  void presence.profile.then((n) => n > 0 && log.info(`profile (kind 0) published on ${n} relay(s)`))
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
