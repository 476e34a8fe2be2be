// What @getalby/sdk says, routed to the host's logger. The SDK (8.0.3, with the nostr-tools it
// bundles) writes straight to the global console: console.error with whole errors (stack traces
// and file paths), console.warn, console.debug. That goes past a bin's --log-level and --json.
// Invariants: only calls made *from the SDK's own files* are diverted (the direct caller's frame is
// checked), every other console call in the process is passed through untouched; what is diverted
// becomes one NWC_LIBRARY_LOG line without a stack, control characters stripped, bounded, and
// secrets redacted; with no sink set it is dropped, never printed.

import { WalletError } from './errors.js'

/** The part of a logger the wallet needs: @2020117/cli's Logger fits. */
export interface WalletLogSink {
  warn(msg: string, fields?: Record<string, unknown>): void
  debug(msg: string, fields?: Record<string, unknown>): void
}

const METHODS = ['error', 'warn', 'info', 'log', 'debug'] as const
type Method = (typeof METHODS)[number]

const SDK_FILE = /[\\/]node_modules[\\/]@getalby[\\/]sdk[\\/]/
/** Logged by the SDK right before it throws the same error, which our caller then reports typed: debug only. */
const RETHROWN = /^(Failed to request \w+|failed to connect to any relay|failed to fetch get_info)$/
const MAX_CHARS = 600

let sink: WalletLogSink | null = null
let diverted = false
const secrets = new Set<string>()

/** Where the SDK's console output goes from now on (null: nowhere). The bins pass their logger. */
export function setWalletLogSink(next: WalletLogSink | null): void {
  sink = next
}

/** A warning of this package's own (not the SDK's), to the same sink, redacted the same way. */
export function walletWarn(msg: string): void {
  sink?.warn(sdkMessage([msg]))
}

/** A value that must never reach the sink, whatever the SDK prints (the NWC secret). */
export function addWalletLogSecret(secret: string): void {
  if (secret.length >= 8) secrets.add(secret)
}

/** Wraps the console methods once, before the SDK is loaded. */
export function divertSdkConsole(): void {
  if (diverted) return
  diverted = true
  const target = console as unknown as Record<Method, (...args: unknown[]) => void>
  for (const method of METHODS) {
    const original = target[method]
    const wrapper = function (this: unknown, ...args: unknown[]): void {
      if (calledFromSdk(wrapper)) report(method, args)
      else original.apply(this, args)
    }
    target[method] = wrapper
  }
}

/** Whether the function that called `fn` lives in the SDK's files. */
function calledFromSdk(fn: (...args: unknown[]) => void): boolean {
  const limit = Error.stackTraceLimit
  const holder: { stack?: string } = {}
  try {
    Error.stackTraceLimit = 1
    Error.captureStackTrace(holder, fn)
  } finally {
    Error.stackTraceLimit = limit
  }
  return SDK_FILE.test(holder.stack ?? '')
}

function report(method: Method, args: unknown[]): void {
  if (!sink) return
  const err = WalletError.NWC_LIBRARY_LOG(sdkMessage(args))
  const quiet = method === 'debug' || method === 'log' || method === 'info' || RETHROWN.test(String(args[0]))
  try {
    if (quiet) sink.debug(err.message, { code: err.code })
    else sink.warn(err.message, { code: err.code })
  } catch {
    // A failing logger must not turn a log line into a crash inside the SDK.
  }
}

/** The SDK's console arguments as one line: errors by name and message (no stack), redacted, bounded. */
export function sdkMessage(args: unknown[]): string {
  let text = args.map(describe).join(' ')
  for (const s of secrets) text = text.split(s).join('[redacted]')
  text = text
    .replace(/([?&]secret=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/nsec1[02-9ac-hj-np-z]{20,}/g, 'nsec1[redacted]')
  text = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim()
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text
}

function describe(v: unknown): string {
  if (typeof v === 'string') return v
  if (v instanceof Error) {
    const code = (v as { code?: unknown }).code
    const inner =
      v instanceof AggregateError
        ? ` (${v.errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')})`
        : ''
    return `${v.name}: ${v.message}${typeof code === 'string' ? ` [${code}]` : ''}${inner}`
  }
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}
