// Flag parsing for every 2020117 bin, on node:util's parseArgs. It adds what parseArgs lacks:
// integer flags with bounds, flags whose value is optional (`--devnet` or `--devnet=PATH`),
// values from the environment and from a keys file, and errors that name the flag.
// Precedence, highest first: command-line flag, environment variable, keys file, default.

import { parseArgs } from 'node:util'
import { CliError } from './errors.js'

export type FlagType = 'string' | 'boolean' | 'integer'

export interface FlagSpec {
  type: FlagType
  description: string
  /** Shown in --help and used when no other source gives a value. */
  default?: string | number | boolean
  /** Environment variable that supplies the value when the flag is absent. */
  env?: string
  /** The flag may be given more than once; the value is an array. */
  multiple?: boolean
  short?: string
  /** For string flags: `--flag` alone means this value. */
  optionalValue?: string
  min?: number
  max?: number
  choices?: readonly string[]
  placeholder?: string
  /** Masked in --help and never echoed in errors. */
  secret?: boolean
}

export interface CommandSpec {
  bin: string
  summary: string
  usage: string[]
  flags: Record<string, FlagSpec>
  examples: string[]
  positionals?: Array<{ name: string; description: string }>
  notes?: string[]
}

export type FlagValue = string | number | boolean | string[] | undefined

export interface Parsed {
  values: Record<string, FlagValue>
  positionals: string[]
  /** Which source each value came from, for diagnostics. */
  sources: Record<string, 'flag' | 'env' | 'file' | 'default'>
  help: boolean
}

export interface ParseOptions {
  env?: NodeJS.ProcessEnv
  /** Values from a keys file or config file, by flag name. */
  file?: Record<string, string | number | boolean | string[] | undefined>
  allowPositionals?: boolean
}

export function parseFlags(spec: CommandSpec, argv: string[], opts: ParseOptions = {}): Parsed {
  const env = opts.env ?? process.env
  const flags = { ...spec.flags, help: { type: 'boolean', description: 'show this help', short: 'h' } as FlagSpec }
  const args = expandOptionalValues(flags, argv)

  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(
        Object.entries(flags).map(([name, f]) => [
          name,
          {
            type: f.type === 'boolean' ? 'boolean' : 'string',
            multiple: f.multiple ?? false,
            ...(f.short ? { short: f.short } : {})
          }
        ])
      ) as Parameters<typeof parseArgs>[0] extends infer P ? (P extends { options?: infer O } ? O : never) : never
    })
  } catch (err) {
    throw translateParseError(err, spec, Object.keys(flags))
  }

  if (parsed.values.help) return { values: {}, positionals: [], sources: {}, help: true }
  if (!opts.allowPositionals && spec.positionals === undefined && parsed.positionals.length > 0) {
    throw CliError.UNEXPECTED_ARGUMENT(parsed.positionals[0] as string, spec.bin)
  }

  const values: Record<string, FlagValue> = {}
  const sources: Parsed['sources'] = {}
  for (const [name, f] of Object.entries(spec.flags)) {
    const fromFlag = parsed.values[name] as string | boolean | string[] | undefined
    const fromEnv = f.env ? env[f.env] : undefined
    const fromFile = opts.file?.[name]
    let raw: unknown
    if (fromFlag !== undefined) {
      raw = fromFlag
      sources[name] = 'flag'
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw =
        f.type === 'boolean'
          ? parseBooleanEnv(fromEnv, f.env as string, spec.bin)
          : f.multiple
            ? fromEnv.split(',')
            : fromEnv
      sources[name] = 'env'
    } else if (fromFile !== undefined) {
      raw = fromFile
      sources[name] = 'file'
    } else if (f.default !== undefined) {
      raw = f.default
      sources[name] = 'default'
    } else continue
    values[name] = coerce(name, f, raw, spec.bin)
  }
  return { values, positionals: parsed.positionals, sources, help: false }
}

/** `--devnet` alone becomes `--devnet=<optionalValue>`, so parseArgs sees a string flag. */
function expandOptionalValues(flags: Record<string, FlagSpec>, argv: string[]): string[] {
  // `--devnet /some/path` would be ambiguous with a positional, so only `=` attaches a value.
  return argv.map((arg) => {
    if (!arg.startsWith('--') || arg.includes('=')) return arg
    const f = flags[arg.slice(2)]
    return f?.optionalValue === undefined ? arg : `${arg}=${f.optionalValue}`
  })
}

function coerce(name: string, f: FlagSpec, raw: unknown, bin: string): FlagValue {
  if (f.multiple) {
    const list = Array.isArray(raw) ? raw : [raw]
    return list.map((v) => String(coerce(name, { ...f, multiple: false }, v, bin)))
  }
  switch (f.type) {
    case 'boolean':
      return raw === true || raw === 'true'
    case 'integer': {
      const s = String(raw).trim()
      if (!/^-?\d+$/.test(s))
        throw CliError.INVALID_FLAG(name, `must be a whole number, got "${f.secret ? '…' : s}"`, bin)
      const n = Number(s)
      if (!Number.isSafeInteger(n)) throw CliError.INVALID_FLAG(name, 'is too large', bin)
      if (f.min !== undefined && n < f.min)
        throw CliError.INVALID_FLAG(name, `must be at least ${f.min}, got ${n}`, bin)
      if (f.max !== undefined && n > f.max) throw CliError.INVALID_FLAG(name, `must be at most ${f.max}, got ${n}`, bin)
      return n
    }
    case 'string': {
      const s = String(raw)
      if (s === '') throw CliError.INVALID_FLAG(name, 'needs a value', bin)
      if (f.choices && !f.choices.includes(s))
        throw CliError.INVALID_FLAG(name, `must be one of ${f.choices.join(', ')}, got "${s}"`, bin)
      return s
    }
  }
}

function parseBooleanEnv(v: string, envName: string, bin: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true
  if (/^(0|false|no|off)$/i.test(v)) return false
  throw CliError.INVALID_ENV(envName, v, bin)
}

function translateParseError(err: unknown, spec: CommandSpec, known: string[]): CliError {
  const e = err as { code?: string; message?: string }
  const message = e.message ?? String(err)
  const flag = /'(-{1,2}[^'\s]+)/.exec(message)?.[1] ?? ''
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = flag.replace(/^-+/, '').split('=')[0] as string
    return CliError.UNKNOWN_FLAG(flag || message, closest(name, known), spec.bin)
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = (flag.replace(/^-+/, '').split(/[\s,=]/)[0] ?? '') || 'flag'
    const f = spec.flags[name]
    const why = f?.type === 'boolean' ? 'takes no value' : 'needs a value (--flag=value or --flag value)'
    return CliError.INVALID_FLAG(name, why, spec.bin)
  }
  return CliError.INVALID_ARGUMENTS(message, spec.bin)
}

/** The known flag nearest to a mistyped one, if it is near enough to be a typo. */
function closest(name: string, known: string[]): string | null {
  let best: string | null = null
  let bestDistance = Infinity
  for (const k of known) {
    const d = editDistance(name, k)
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : null
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length] as number
}

/** The --help text: usage, every flag with its default and environment variable, examples. */
export function helpText(spec: CommandSpec): string {
  const lines: string[] = [`${spec.bin}: ${spec.summary}`, '', 'Usage:']
  for (const u of spec.usage) lines.push(`  ${u}`)
  if (spec.positionals?.length) {
    lines.push('', 'Arguments:')
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(28)} ${p.description}`)
  }
  lines.push('', 'Flags:')
  const rows = Object.entries(spec.flags).map(([name, f]) => {
    const value =
      f.type === 'boolean'
        ? ''
        : f.optionalValue !== undefined
          ? `[=${f.placeholder ?? 'VALUE'}]`
          : `=${f.placeholder ?? (f.type === 'integer' ? 'N' : 'VALUE')}`
    const left = `${f.short ? `-${f.short}, ` : ''}--${name}${value}`
    const extras: string[] = []
    if (f.default !== undefined && f.default !== false)
      extras.push(`default: ${f.secret ? '(set)' : String(f.default)}`)
    if (f.env) extras.push(`env: ${f.env}`)
    if (f.multiple) extras.push('repeatable')
    return [left, f.description + (extras.length ? ` (${extras.join('; ')})` : '')] as const
  })
  rows.push(['-h, --help', 'show this help'])
  const width = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2)
  for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)} ${right}`)
  if (spec.notes?.length) {
    lines.push('')
    for (const n of spec.notes) lines.push(n)
  }
  lines.push('', 'Examples:')
  for (const e of spec.examples) lines.push(`  ${e}`)
  return lines.join('\n') + '\n'
}

/** Flags every long-running bin shares: how much it logs. */
export const LOG_FLAGS = {
  verbose: { type: 'boolean', short: 'v', description: 'debug logging' },
  'log-level': {
    type: 'string',
    description: 'error, warn, info, debug or trace',
    choices: ['error', 'warn', 'info', 'debug', 'trace'],
    env: 'LOG_LEVEL'
  }
} as const satisfies Record<string, FlagSpec>

/** Flags for reaching a network other than the local devnet. */
export const NETWORK_FLAGS = {
  bootstrap: {
    type: 'string',
    description: 'HyperDHT bootstrap nodes host:port,… (default: the public network)',
    env: 'HYPERSWARM_BOOTSTRAP',
    placeholder: 'LIST'
  },
  relays: { type: 'string', multiple: true, description: 'Nostr relays', env: 'NOSTR_RELAYS', placeholder: 'URL' }
} as const satisfies Record<string, FlagSpec>

/** The keys-file flags every bin that has an identity reads (startUp needs them); `whose` names it in --help. */
export function identityFlags(whose: string) {
  return {
    agent: {
      type: 'string',
      description: `which entry of the keys file is ${whose} (created on first run)`,
      default: 'default',
      env: 'KEYS_AGENT',
      placeholder: 'NAME'
    },
    'keys-file': {
      type: 'string',
      description: 'the keys file (default: ./.2020117_keys, else ~/.2020117_keys)',
      env: 'KEYS_FILE',
      placeholder: 'PATH'
    }
  } as const satisfies Record<string, FlagSpec>
}

export function logLevelOf(values: Record<string, FlagValue>): 'error' | 'warn' | 'info' | 'debug' | 'trace' {
  return (
    (values['log-level'] as 'error' | 'warn' | 'info' | 'debug' | 'trace' | undefined) ??
    (values.verbose ? 'debug' : 'info')
  )
}
