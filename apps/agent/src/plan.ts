// What the flags ask for, read into a plan before anything starts: where the network is (the
// flags, else the local network's under --devnet), which halves run (jobs need relays and a price
// or --free; sessions need an http(s) upstream and a session price or --free), the price of each job
// kind, the processor, the upstream and the manifest. Apart from bin.ts so that the rules read (and
// are tested) without a process.

import { readFile } from 'node:fs/promises'
import { CliError, type Startup } from '@2020117/cli'
import { readRunningState } from '@2020117/cli/devnet-state'
import { isJobRequestKind, kinds as KIND, MAX_MANIFEST_BYTES } from '@2020117/protocol'
import { parseBootstrap, type NetworkConfig } from '@2020117/swarm'
import { lightningAddressUrl } from '@2020117/wallet'
import { createProcessor, ProcessorError, type ApiName, type Processor } from './processors/index.js'
import { spec } from './spec.js'

type Values = Startup['values']

export interface Terms {
  kinds: number[]
  free: boolean
}

export interface Plan {
  terms: Terms
  halves: Halves
  /** Job mode's kinds and prices (msat), when jobs run. */
  jobs: { kinds: number[]; prices: Map<number, number> } | null
  manifest: Record<string, unknown>
  /** The profile's lud16, where zaps to us go: --zap-address, else --lightning-address. */
  zapAddress: string | null
}

export interface Setup {
  processor: string
  network: NetworkConfig
  nwcUri: string | undefined
  relays: string[]
  blossom: string | null
}

/** The processor, the DHT, the wallet URI, the relays and Blossom: the flags, else the local network's under --devnet. */
export async function networkOf(start: Startup): Promise<Setup> {
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

/** What runs, at what price: every flag rule checked before anything starts. */
export function planOf(start: Startup, setup: Setup): Plan {
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
  return { terms, halves, jobs, manifest, zapAddress: zapAddressOf(v) }
}

/** --zap-address, else --lightning-address: a name@domain address, or none. */
export function zapAddressOf(v: Values): string | null {
  const address = (v['zap-address'] as string | undefined) ?? (v['lightning-address'] as string | undefined) ?? null
  if (address === null || v['zap-address'] === undefined) return address
  try {
    lightningAddressUrl(address)
  } catch {
    throw CliError.INVALID_FLAG(
      'zap-address',
      `must be a Lightning address name@domain, got "${address.slice(0, 80)}"`,
      spec.bin
    )
  }
  return address
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

/** The highest job price one flag may set: 10 M sats. */
export const MAX_JOB_PRICE_SATS = 10_000_000

export interface Halves {
  sessions: boolean
  jobs: boolean
}

/** Which halves run. Throws when the flags ask for a half that cannot run. */
export function halvesOf(start: Pick<Startup, 'values' | 'explicit'>, relays: string[]): Halves {
  const v = start.values
  const free = v.free === true
  const exec = !/^https?:\/\//i.test(String(v.processor)) && v.processor !== 'ollama'
  const sessionPrice = v['sats-per-minute'] !== undefined
  if (exec && sessionPrice && v['no-sessions'] !== true)
    throw CliError.INVALID_FLAG(
      'processor',
      'an exec: processor serves jobs only: sessions need an http(s):// upstream (drop --sats-per-minute, or give --no-sessions)',
      spec.bin
    )
  const sessions = v['no-sessions'] !== true && !exec && (free || sessionPrice)
  // Jobs are asked for by a job price, --jobs, a processor that serves only jobs, or --no-sessions;
  // --free alone keeps to sessions, as before job mode, so that free sessions do not become free jobs.
  const wanted = v.jobs === true || v['job-price'] !== undefined || exec || v['no-sessions'] === true
  const jobs = v['no-jobs'] !== true && wanted && relays.length > 0 && (v['job-price'] !== undefined || free)
  if (v['no-jobs'] !== true && wanted && !jobs && (v.jobs === true || v['job-price'] !== undefined || !sessions)) {
    if (relays.length === 0)
      throw CliError.MISSING_FLAG('relays', 'jobs are sold on Nostr relays: give --relays=URL or --devnet')
    throw CliError.MISSING_FLAG(
      'job-price',
      'set your price per job in sats (--job-price=SATS or KIND:SATS), or serve explicitly unpaid with --free'
    )
  }
  if (jobs || sessions) return { sessions, jobs }
  throw CliError.MISSING_FLAG(
    'sats-per-minute',
    'set your price in sats per minute (or serve explicitly unpaid with --free)'
  )
}

/** The job kinds among `kinds` (5000-5999); INVALID_FLAG when jobs run and there are none. */
export function jobKindsOf(kinds: number[]): number[] {
  const jobKinds = kinds.filter(isJobRequestKind)
  if (jobKinds.length === 0)
    throw CliError.INVALID_FLAG('kind', 'job mode needs at least one --kind from 5000 to 5999', spec.bin)
  return jobKinds
}

/**
 * `--job-price=SATS` (every job kind) and `--job-price=KIND:SATS` (one kind, over the first): the
 * price of each job kind in msat. Every kind must end up with a price; none of another kind.
 */
export function jobPricesOf(values: string[] | undefined, kinds: number[], free: boolean): Map<number, number> {
  const prices = new Map<number, number>()
  if (free) {
    if (values?.length) throw CliError.INVALID_FLAG('free', 'cannot be combined with --job-price', spec.bin)
    for (const k of kinds) prices.set(k, 0)
    return prices
  }
  let all: number | null = null
  for (const value of values ?? []) {
    const m = /^(?:(\d{1,5}):)?(\d{1,9})$/.exec(value.trim())
    const sats = m ? Number(m[2]) : NaN
    if (!m || sats < 1 || sats > MAX_JOB_PRICE_SATS)
      throw CliError.INVALID_FLAG(
        'job-price',
        `must be SATS or KIND:SATS with 1 ≤ SATS ≤ ${MAX_JOB_PRICE_SATS}, got "${value.slice(0, 40)}"`,
        spec.bin
      )
    if (m[1] === undefined) all = sats
    else if (!kinds.includes(Number(m[1])))
      throw CliError.INVALID_FLAG(
        'job-price',
        `prices kind ${m[1]}, which is not a served job --kind (${kinds.join(', ')})`,
        spec.bin
      )
    else prices.set(Number(m[1]), sats * 1000)
  }
  for (const k of kinds) {
    if (prices.has(k)) continue
    if (all === null)
      throw CliError.MISSING_FLAG('job-price', `kind ${k} has no price: add --job-price=${k}:SATS or --job-price=SATS`)
    prices.set(k, all * 1000)
  }
  return prices
}

/** The job processor a --processor value names; INVALID_FLAG when it names none. */
export function processorOf(value: string, v: Values): Processor {
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

/** The sessions' upstream: an http(s) origin. */
export function parseUpstream(value: string): URL {
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

/** A --skill manifest: a JSON object of at most MAX_MANIFEST_BYTES. */
export async function readManifest(path: string): Promise<Record<string, unknown>> {
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
