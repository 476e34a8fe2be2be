// The flags read into what startRelay takes: the database path, the address, the policy and the
// limits. Everything a flag can get wrong is refused here, before a port or a file is touched, with
// the flag's name (INVALID_POLICY, exit 2).

import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { FlagValue } from '@2020117/cli'
import {
  MAX_POW_BITS,
  parseKindRanges,
  RELAY_ACCEPTED_KINDS,
  RELAY_POW_DEFAULTS,
  type KindRange,
  type PowRule
} from '@2020117/protocol'
import type { RelayLimits, RelayOptions, RelayPolicyOptions } from '@2020117/relay'
import { decode } from 'nostr-tools/nip19'
import { RelaydError } from './errors.js'

export interface Settings {
  /** Absolute path of the SQLite file. */
  db: string
  host: string
  port: number
  publicUrl: string | undefined
  policy: RelayPolicyOptions
  limits: Pick<
    RelayLimits,
    | 'eventsPerSecondPerPubkey'
    | 'eventBurstPerPubkey'
    | 'eventsPerSecondPerConnection'
    | 'eventBurstPerConnection'
    | 'reqsPerSecondPerConnection'
    | 'reqBurstPerConnection'
    | 'maxConnectionsPerAddress'
  >
}

// Bounds on what one flag may list: a policy is read by every client, and kept small.
const MAX_KEYS = 10_000
const MAX_RATE = 1_000_000
const MAX_RETENTION_SECONDS = 100 * 365 * 86_400
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

export function settingsOf(values: Record<string, FlagValue>, env: NodeJS.ProcessEnv = process.env): Settings {
  const [pubkeyRate, pubkeyBurst] = rateOf('rate-pubkey', values['rate-pubkey'] as string)
  const [connRate, connBurst] = rateOf('rate-connection', values['rate-connection'] as string)
  const [reqRate, reqBurst] = rateOf('rate-req', values['rate-req'] as string)
  return {
    db: resolve((values.db as string | undefined) ?? defaultDbPath(env)),
    host: values.host as string,
    port: values.port as number,
    publicUrl: publicUrlOf(values['public-url'] as string | undefined),
    policy: {
      acceptedKinds: kindsOf(values.kinds as string | undefined),
      pow: powOf((values.pow as string[] | undefined) ?? []),
      minPow: values['min-pow'] as number,
      powExempt: keysOf('pow-exempt', values['pow-exempt'] as string[] | undefined) ?? [],
      writers: keysOf('writers', values.writers as string[] | undefined),
      auth: values.auth as RelayPolicyOptions['auth'],
      retentionSeconds: retentionOf(values.retention as string | undefined)
    },
    limits: {
      eventsPerSecondPerPubkey: pubkeyRate,
      eventBurstPerPubkey: pubkeyBurst,
      eventsPerSecondPerConnection: connRate,
      eventBurstPerConnection: connBurst,
      reqsPerSecondPerConnection: reqRate,
      reqBurstPerConnection: reqBurst,
      maxConnectionsPerAddress: values['connections-per-address'] as number
    }
  }
}

export function relayOptionsOf(s: Settings): RelayOptions {
  return {
    host: s.host,
    port: s.port,
    db: s.db,
    ...(s.publicUrl ? { publicUrl: s.publicUrl } : {}),
    policy: s.policy,
    limits: s.limits
  }
}

/** XDG's data directory, as every Linux tool keeps its state: not the working directory. */
export function defaultDbPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_DATA_HOME?.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share')
  return join(base, '2020117', 'relay.sqlite')
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host)
}

function publicUrlOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw RelaydError.INVALID_POLICY('public-url', `is not a URL: "${text.slice(0, 80)}"`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw RelaydError.INVALID_POLICY('public-url', 'must be a ws:// or wss:// URL, as clients dial it')
  return text
}

function kindsOf(text: string | undefined): readonly KindRange[] | null {
  if (text === undefined) return RELAY_ACCEPTED_KINDS
  if (text === 'any') return null
  const added = text.startsWith('+')
  const ranges = parsed('kinds', () => parseKindRanges(added ? text.slice(1) : text))
  return added ? [...RELAY_ACCEPTED_KINDS, ...ranges] : ranges
}

/** `KINDS:BITS` rules, e.g. `5000-5999:10` or `0,1,3:20`; none given = the defaults; `off` = none. */
function powOf(rules: string[]): readonly PowRule[] {
  if (rules.length === 0) return RELAY_POW_DEFAULTS
  if (rules.length === 1 && rules[0] === 'off') return []
  return rules.map((rule) => {
    const colon = rule.lastIndexOf(':')
    const bits = Number(rule.slice(colon + 1))
    if (colon < 0 || !/^\d{1,2}$/.test(rule.slice(colon + 1)) || bits > MAX_POW_BITS)
      throw RelaydError.INVALID_POLICY(
        'pow',
        `takes KINDS:BITS with BITS from 0 to ${MAX_POW_BITS} (or off), got "${rule.slice(0, 80)}"`
      )
    return { kinds: parsed('pow', () => parseKindRanges(rule.slice(0, colon))), bits }
  })
}

/** Hex or npub keys, comma-separated or the flag repeated; absent = null. */
function keysOf(flag: string, lists: string[] | undefined): string[] | null {
  if (lists === undefined) return null
  const keys = lists.flatMap((l) => l.split(',')).map((k) => k.trim())
  if (keys.length > MAX_KEYS) throw RelaydError.INVALID_POLICY(flag, `lists more than ${MAX_KEYS} keys`)
  return [...new Set(keys.map((key) => hexKey(flag, key)))]
}

function hexKey(flag: string, key: string): string {
  if (/^[0-9a-f]{64}$/i.test(key)) return key.toLowerCase()
  if (key.startsWith('npub1')) {
    try {
      const decoded = decode(key as `npub1${string}`)
      if (decoded.type === 'npub') return decoded.data
    } catch {
      // Falls through to the refusal, which names the key.
    }
  }
  if (key.startsWith('nsec1'))
    throw RelaydError.INVALID_POLICY(
      flag,
      'was given a private key (nsec1…): keep it secret, and list public keys (npub1… or hex)'
    )
  throw RelaydError.INVALID_POLICY(flag, `takes public keys (64 hex or npub1…), got "${key.slice(0, 70)}"`)
}

function retentionOf(text: string | undefined): number | null {
  if (text === undefined) return null
  const m = /^(\d{1,10})([smhd]?)$/.exec(text.trim())
  const seconds = m ? Number(m[1]) * (UNIT_SECONDS[m[2] || 'd'] as number) : NaN
  if (!m || seconds < 1 || seconds > MAX_RETENTION_SECONDS)
    throw RelaydError.INVALID_POLICY(
      'retention',
      `takes a duration such as 30d, 12h, 90m or 3600s (at most 100 years), got "${text.slice(0, 40)}"`
    )
  return seconds
}

/** `RATE:BURST` (or `RATE/s:BURST`): a token bucket refilled at RATE per second, holding BURST. */
function rateOf(flag: string, text: string): [number, number] {
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?:(\d+)$/.exec(text.trim())
  const rate = Number(m?.[1])
  const burst = Number(m?.[2])
  if (!m || rate <= 0 || rate > MAX_RATE || burst < 1 || burst > MAX_RATE)
    throw RelaydError.INVALID_POLICY(
      flag,
      `takes RATE:BURST, e.g. 10:100 (10 a second, up to 100 at once), got "${text.slice(0, 40)}"`
    )
  return [rate, burst]
}

function parsed<T>(flag: string, parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw RelaydError.INVALID_POLICY(flag, `cannot be read: ${(err as Error).message}`)
  }
}
