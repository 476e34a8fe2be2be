// The interactive prompt while a session runs: status, skill, generate, review, help, quit. Tab completes
// commands and flags; history is kept for the session. What the provider sends is shown only
// through peerText/peerJson (no terminal escapes), and `generate` names its files itself: nothing
// the provider returns ever becomes part of a path, and no existing file is overwritten.

import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import readline from 'node:readline'
import { peerJson, peerText } from '@2020117/cli'
import { RATING_MAX, RATING_MIN } from '@2020117/protocol'
import type { CustomerSession, Status } from './customer.js'
import type { Published, ReviewWish } from './review.js'

const COMMANDS = ['status', 'skill', 'generate', 'review', 'help', 'quit'] as const
const GENERATE_FLAGS = ['--steps=', '--width=', '--height=', '--seed=', '--negative=']

export interface ReplOptions {
  session: CustomerSession
  tunnelUrl: string
  input: NodeJS.ReadableStream
  output: NodeJS.WritableStream
  terminal: boolean
  outputDir: string
  onquit: () => void
  /** Publishes a review of the provider, with the last paid tick as its proof. */
  review: (wish: ReviewWish) => Promise<Published>
}

export function startRepl(opts: ReplOptions): readline.Interface {
  const rl = readline.createInterface({
    input: opts.input,
    output: opts.output,
    terminal: opts.terminal,
    historySize: 200,
    completer: (line: string) => complete(line)
  })
  const print = (text: string) => opts.output.write(text + '\n')
  // Piped input (--repl in a script) gets the answers without prompts in between.
  const prompt = () => {
    if (!opts.terminal) return
    rl.setPrompt(promptText(opts.session.status()))
    rl.prompt()
  }
  let busy: Promise<void> = Promise.resolve()
  rl.on('line', (line) => {
    // Commands run one after another, even when piped input arrives all at once.
    busy = busy.then(async () => {
      try {
        await run(line.trim(), opts, print)
      } catch (err) {
        // Typed errors keep their code, so that a script can tell a refused review from a typo.
        const { code, message } = err as { code?: unknown; message: string }
        const named = typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) && !message.startsWith(code)
        print(`error: ${named ? `${code}: ` : ''}${message}`)
      }
      if (opts.session.state !== 'ended') prompt()
    })
  })
  rl.on('close', () => void busy.then(() => opts.onquit()))
  // The prompt is the live status line: it shows the budget and minutes left as they change.
  if (opts.terminal)
    opts.session.on('paid', () => {
      rl.setPrompt(promptText(opts.session.status()))
      rl.prompt(true)
    })
  print(`type help for commands; the remote service is at ${opts.tunnelUrl}`)
  prompt()
  return rl
}

function promptText(s: Status): string {
  const left = s.minutes_left < 0 ? 'free' : `${s.budget_left_sats} sats / ${s.minutes_left} min left`
  return `[${peerText(s.name, 20)} · ${left}] 2020117> `
}

function complete(line: string): [string[], string] {
  const words = line.split(/\s+/)
  if (words.length <= 1) {
    const hits = COMMANDS.filter((c) => c.startsWith(line))
    return [hits.length ? hits : [...COMMANDS], line]
  }
  const last = words[words.length - 1] as string
  if (words[0] === 'generate' && last.startsWith('-')) return [GENERATE_FLAGS.filter((f) => f.startsWith(last)), last]
  return [[], last]
}

async function run(line: string, opts: ReplOptions, print: (s: string) => void): Promise<void> {
  const [cmd, ...args] = tokenize(line)
  switch (cmd) {
    case undefined:
      return
    case 'help':
      print(
        [
          'status                       provider, price, time used, sats spent, budget and minutes left, bytes up and down',
          "skill                        the provider's skill manifest",
          'generate "<prompt>" [--steps=N --width=N --height=N --seed=N --negative="…"]',
          '                             txt2img through the tunnel; PNGs are saved to ./output/',
          'review RATING ["text"]       publish your review (1-5) of this provider, the last paid tick as proof',
          'quit                         end the session (Ctrl-C works too)'
        ].join('\n')
      )
      return
    case 'status':
      print(formatStatus(opts.session.status()))
      return
    case 'skill':
      print(peerJson(opts.session.offer.manifest))
      return
    case 'generate':
      await generate(args, opts, print)
      return
    case 'review':
      await review(args, opts, print)
      return
    case 'quit':
    case 'exit':
      opts.onquit()
      return
    default:
      print(`unknown command "${cmd}": type help`)
  }
}

export function formatStatus(s: Status): string {
  const rows: Array<[string, string]> = [
    ['provider', `${peerText(s.name, 64)} (${s.provider.slice(0, 16)}…)`],
    ['state', s.state],
    ['price', s.sats_per_minute === 0 ? 'free' : `${s.sats_per_minute} sats/min, billed every ${s.tick_seconds} s`],
    ['time used', `${s.elapsed_s} s`],
    ['spent', `${s.sats_spent} sats (${s.msat_spent} msat) in ${s.ticks_paid} ticks`],
    ['budget left', `${s.budget_left_sats} of ${s.budget_sats} sats`],
    ['minutes left', s.minutes_left < 0 ? 'unlimited (free)' : String(s.minutes_left)],
    ['bytes', `${s.bytes_up} up, ${s.bytes_down} down, ${s.open_streams} open streams`]
  ]
  return rows.map(([k, v]) => `  ${k.padEnd(13)} ${v}`).join('\n')
}

async function review(args: string[], opts: ReplOptions, print: (s: string) => void): Promise<void> {
  const [rating, ...words] = args
  if (rating === undefined || !/^[0-9]$/.test(rating) || Number(rating) < RATING_MIN || Number(rating) > RATING_MAX)
    throw new Error(`give a rating from ${RATING_MIN} to ${RATING_MAX}: review 5 "fast"`)
  const published = await opts.review({ rating: Number(rating), text: words.join(' ') })
  print(
    `review published: event ${published.event_id} on ${published.relays} relay(s)${published.relays === 0 ? ' (none accepted it: try again later)' : ''}`
  )
}

async function generate(args: string[], opts: ReplOptions, print: (s: string) => void): Promise<void> {
  const body: Record<string, unknown> = { steps: 20, width: 512, height: 512, seed: -1 }
  const words: string[] = []
  for (const a of args) {
    const m = /^--(steps|width|height|seed|negative)=(.*)$/.exec(a)
    if (!m) {
      if (a.startsWith('--'))
        throw new Error(`unknown option ${a}: use --steps, --width, --height, --seed or --negative`)
      words.push(a)
      continue
    }
    const [, key, value] = m as unknown as [string, string, string]
    if (key === 'negative') body.negative_prompt = value
    else if (!/^-?\d+$/.test(value)) throw new Error(`--${key} must be a whole number`)
    else body[key] = Number(value)
  }
  if (words.length === 0) throw new Error('give a prompt: generate "a red fox" --seed=1')
  body.prompt = words.join(' ')
  if (opts.session.state !== 'active')
    throw new Error('the tunnel is not open yet: wait for the first payment to be confirmed')
  print(`generating "${body.prompt as string}" through the tunnel…`)
  const res = await fetch(`${opts.tunnelUrl}/sdapi/v1/txt2img`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  const text = await readBounded(res, MAX_REPLY_BYTES)
  if (!res.ok) throw new Error(`the provider answered ${res.status}: ${peerText(text, 300)}`)
  let reply: { images?: unknown }
  try {
    reply = JSON.parse(text) as { images?: unknown }
  } catch {
    throw new Error('the provider answered with something that is not JSON')
  }
  const images = Array.isArray(reply.images)
    ? reply.images.filter((b): b is string => typeof b === 'string').slice(0, MAX_IMAGES)
    : []
  const dir = resolve(opts.outputDir)
  await mkdir(dir, { recursive: true })
  // The name is ours alone: a time stamp, the image's index and the seed the user asked for. The
  // provider's info.seed is not used: it is peer data, and a path in it would escape the directory.
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const seed = typeof body.seed === 'number' && body.seed >= 0 ? `-seed${body.seed}` : ''
  const saved: string[] = []
  for (const [i, b64] of images.entries())
    saved.push(await saveExclusive(dir, `${stamp}-${i}${seed}`, Buffer.from(b64, 'base64')))
  print(saved.length ? `saved ${saved.join(', ')}` : 'the provider returned no images')
}

/** At most this many images of one reply are saved. */
const MAX_IMAGES = 64
/** A txt2img reply larger than this is not read: the provider's bytes must not exhaust our memory. */
const MAX_REPLY_BYTES = 128 * 1024 * 1024

export async function readBounded(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader()
  if (!reader) return ''
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > max) {
      await reader.cancel().catch(() => {})
      throw new Error(`the provider's reply is larger than ${max / 1024 / 1024} MiB: nothing was saved`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Writes `bytes` to `<dir>/<base>.png`, or `<base>-1.png`, `<base>-2.png`, … : the first name that
 * does not exist yet. The file is created exclusively (`wx`), so an existing file, or one another
 * process creates in the meantime, is never overwritten. `base` must be a plain file name.
 */
export async function saveExclusive(dir: string, base: string, bytes: Uint8Array): Promise<string> {
  if (!/^[0-9A-Za-z][0-9A-Za-z-]*$/.test(base)) throw new Error(`not a plain file name: ${peerText(base, 80)}`)
  for (let n = 0; n < 1000; n++) {
    const file = join(dir, `${base}${n ? `-${n}` : ''}.png`)
    try {
      await writeFile(file, bytes, { flag: 'wx' })
      return file
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  throw new Error(`no free file name for ${base}.png in ${dir}: clean up the directory`)
}

/** Splits a command line on spaces, keeping "quoted strings" (with \" escapes) together. */
export function tokenize(line: string): string[] {
  const out: string[] = []
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g
  let m: RegExpExecArray | null
  while ((m = re.exec(line))) {
    const token = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? (m[3] as string))
    // --flag="quoted value" arrives as one \S+ token with the quotes inside.
    out.push(token.replace(/^(--[a-z]+=)"(.*)"$/, '$1$2'))
  }
  return out
}
