// Job mode's flags, read into terms: which halves run, and the price of each job kind. Kept apart
// from bin.ts so that the rules are tested without a process: jobs need relays and a price (or
// --free); sessions need an http(s) upstream and a session price (or --free).

import { CliError, type Startup } from '@2020117/cli'
import { isJobRequestKind } from '@2020117/protocol'

const BIN = '2020117-agent'
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
      BIN
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
    throw CliError.INVALID_FLAG('kind', 'job mode needs at least one --kind from 5000 to 5999', BIN)
  return jobKinds
}

/**
 * `--job-price=SATS` (every job kind) and `--job-price=KIND:SATS` (one kind, over the first): the
 * price of each job kind in msat. Every kind must end up with a price; none of another kind.
 */
export function jobPricesOf(values: string[] | undefined, kinds: number[], free: boolean): Map<number, number> {
  const prices = new Map<number, number>()
  if (free) {
    if (values?.length) throw CliError.INVALID_FLAG('free', 'cannot be combined with --job-price', BIN)
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
        BIN
      )
    if (m[1] === undefined) all = sats
    else if (!kinds.includes(Number(m[1])))
      throw CliError.INVALID_FLAG(
        'job-price',
        `prices kind ${m[1]}, which is not a served job --kind (${kinds.join(', ')})`,
        BIN
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
