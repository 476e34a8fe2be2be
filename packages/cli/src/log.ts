// Logging for every bin: human lines (or JSON lines) on stderr, so stdout stays for results and
// `--json`. Every line passes through redact(): secrets must never reach a log, whatever the
// verbosity, even when a library error message happens to embed one.

import { escapeControls, stripControls } from './text.js'

export type Level = 'error' | 'warn' | 'info' | 'debug' | 'trace'
const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 }

export interface Logger {
  level: Level
  error(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  debug(msg: string, fields?: Record<string, unknown>): void
  trace(msg: string, fields?: Record<string, unknown>): void
  /** Registers a value that must never be printed (a private key, an NWC secret). */
  addSecret(secret: string | null | undefined): void
  redact(text: string): string
}

export interface LoggerOptions {
  level?: Level
  json?: boolean
  name?: string
  write?: (line: string) => void
}

const PATTERNS: Array<[RegExp, string]> = [
  // NIP-19 private keys.
  [/nsec1[02-9ac-hj-np-z]{20,}/g, 'nsec1[redacted]'],
  // The secret of a Nostr Wallet Connect URI (and any other `secret=` query parameter).
  [/([?&]secret=)[^&\s"'`]+/gi, '$1[redacted]'],
  // JSON fields that hold private material.
  [/("(?:privkey|secret|secretKey|nsec|preimage_secret)"\s*:\s*")[^"]*(")/gi, '$1[redacted]$2']
]

export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join('[redacted]')
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement)
  return out
}

/**
 * Whether `text`, about to be published for anyone to read (a review, a report), holds one of
 * `secrets` in any case. Forms shorter than 16 characters are too common to mean anything.
 */
export function holdsSecret(text: string, secrets: Iterable<string>): boolean {
  const lower = text.toLowerCase()
  for (const s of secrets) if (s.length >= 16 && lower.includes(s.toLowerCase())) return true
  return false
}

/** A wallet connection URI and its `secret=` parameter: the forms of an NWC secret a text could carry. */
export function walletSecretForms(uri: string | null | undefined): string[] {
  if (!uri) return []
  const secret = /[?&]secret=([^&]+)/.exec(uri)?.[1]
  return secret ? [uri, secret] : [uri]
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = new Set<string>()
  const write = opts.write ?? ((line: string) => void process.stderr.write(line + '\n'))
  const logger: Logger = {
    level: opts.level ?? 'info',
    addSecret(secret) {
      if (secret && secret.length >= 8) {
        secrets.add(secret)
        // Hex secrets also appear upper-cased or as bytes rendered in other ways; cover the common one.
        if (/^[0-9a-f]+$/.test(secret)) secrets.add(secret.toUpperCase())
      }
    },
    redact: (text) => redactText(text, secrets),
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    trace: (m, f) => emit('trace', m, f)
  }

  function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] > ORDER[logger.level]) return
    let line: string
    if (opts.json) {
      line = JSON.stringify(
        { t: new Date().toISOString(), level, ...(opts.name ? { name: opts.name } : {}), msg, ...fields },
        jsonSafe
      )
    } else {
      const tail =
        fields && Object.keys(fields).length
          ? ' ' +
            Object.entries(fields)
              .map(([k, v]) => `${k}=${fmt(v)}`)
              .join(' ')
          : ''
      const prefix = level === 'info' ? '' : `${level}: `
      line = `${opts.name ? `[${opts.name}] ` : ''}${prefix}${msg}${tail}`
    }
    // Peer text reaches log lines (names, messages, error texts): no line may carry a terminal
    // escape or a newline that forges another line.
    write(logger.redact(opts.json ? escapeControls(line) : stripControls(line)))
  }

  return logger
}

function fmt(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v
  if (v instanceof Error) return JSON.stringify(v.message)
  return JSON.stringify(v, jsonSafe)
}

function jsonSafe(_key: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex')
  if (v instanceof Error) return { message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) }
  if (typeof v === 'bigint') return v.toString()
  return v
}
