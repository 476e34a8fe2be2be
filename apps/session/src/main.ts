// The 2020117-session command (./bin.ts loads it): rent a provider's service by the minute and use it at
// http://localhost:PORT.

import net from 'node:net'
import readline from 'node:readline'
import {
  CliError,
  identityFlags,
  LOG_FLAGS,
  NETWORK_FLAGS,
  peerText,
  runMain,
  startUp,
  type CommandSpec,
  type FlagValue,
  type Logger,
  type MainContext,
  type Startup
} from '@2020117/cli'
import {
  findProviders,
  NostrError,
  npubOf,
  parsePubkey,
  RelayPool,
  resolveProvider,
  secretForms,
  type ProviderInfo
} from '@2020117/nostr'
import { rankProviders, type Reputation } from '@2020117/reputation'
import { readRunningState, DEFAULT_DEVNET_DIR, type DevnetState as RunningState } from '@2020117/cli/devnet-state'
import {
  kinds as KIND,
  MAX_BUDGET_SATS,
  PAYMENT_BOLT11,
  PAYMENT_FREE,
  SessionChannel,
  tickAmountMsat
} from '@2020117/protocol'
import { writeFileAtomic } from '@2020117/files'
import { PeerSwarm, parseBootstrap, type NetworkConfig } from '@2020117/swarm'
import {
  NETWORK_NAMES,
  NwcWallet,
  walletNetworkName,
  WalletError,
  type NetworkName,
  type WalletInfo
} from '@2020117/wallet'
import { CustomerSession, type Offer, type SessionSummary } from './customer.js'
import { discover, SOFTWARE, type Candidate } from './discover.js'
import { listProviders } from './list.js'
import { SessionCliError } from './errors.js'
import { startRepl } from './repl.js'
import {
  networkOfUri,
  nobodyQualifies,
  rateProviders,
  scoreText,
  walletNetwork,
  type RatingRules
} from './reputation.js'
import {
  parseReviewFlag,
  publishReview,
  refuseSecrets,
  type Published,
  type ReviewContext,
  type ReviewWish
} from './review.js'

const spec: CommandSpec = {
  bin: '2020117-session',
  summary:
    "rent a provider's service by the minute, pay each period through Nostr Wallet Connect, and use it at http://localhost:PORT",
  usage: [
    '2020117-session --budget=SATS [--port=8080] [--kind=5200] [--provider=KEY] [--max-price=N] [--min-score=N] [--review=RATING[:TEXT]] [--nwc=URI] [--yes] [--no-repl] [--json]'
  ],
  flags: {
    budget: {
      type: 'integer',
      description: 'the most this session may spend, in sats (required)',
      min: 1,
      max: MAX_BUDGET_SATS,
      env: 'SESSION_BUDGET'
    },
    port: {
      type: 'integer',
      description: 'local port of the tunnel',
      default: 8080,
      min: 0,
      max: 65535,
      env: 'SESSION_PORT'
    },
    host: {
      type: 'string',
      description: 'local address of the tunnel; anything but loopback exposes your paid session to your network',
      default: '127.0.0.1',
      env: 'SESSION_HOST'
    },
    'allow-foreign-origin': {
      type: 'boolean',
      description:
        "serve requests whatever their Host and Origin headers; by default only pages of the tunnel's own address may use it (other web pages get 403)",
      env: 'SESSION_ALLOW_FOREIGN_ORIGIN'
    },
    kind: {
      type: 'integer',
      description: 'service kind to rent (5200 = Stable Diffusion WebUI session)',
      default: KIND.StableDiffusionSession,
      min: 0,
      max: 65535,
      env: 'SESSION_KIND'
    },
    provider: {
      type: 'string',
      description:
        'rent from this provider: its Nostr pubkey (npub1… or hex), resolved on the relays and proven on connect',
      env: 'SESSION_PROVIDER',
      placeholder: 'NPUB'
    },
    'swarm-key': {
      type: 'string',
      description: "dial this provider's 64-hex Hyperswarm key directly (no relays needed)",
      env: 'SESSION_SWARM_KEY',
      placeholder: 'HEX'
    },
    list: {
      type: 'boolean',
      description:
        'list the providers online on the relays (with --kind, --json), best first by price against reputation, and exit'
    },
    'min-score': {
      type: 'integer',
      description: 'skip providers whose reputation scores under N (as you see it: your follows weigh)',
      env: 'SESSION_MIN_SCORE',
      placeholder: 'N'
    },
    'allow-flagged': {
      type: 'boolean',
      description: 'do not skip flagged providers (reported by 3 or more keys in your graph)'
    },
    review: {
      type: 'string',
      description:
        'when the session ends, publish your review of the provider (RATING 1-5, optional TEXT), the last paid tick as proof of payment',
      placeholder: 'RATING[:TEXT]'
    },
    'max-price': {
      type: 'integer',
      description: 'accept providers up to this many sats/min without asking',
      min: 0,
      env: 'SESSION_MAX_PRICE',
      placeholder: 'N'
    },
    'max-fee': {
      type: 'integer',
      description:
        'the most routing fee one payment may cost, in sats: invoices whose route hints ask more are refused, and the budget keeps it in reserve',
      default: 2,
      min: 0,
      max: MAX_BUDGET_SATS,
      env: 'SESSION_MAX_FEE',
      placeholder: 'SATS'
    },
    nwc: {
      type: 'string',
      description: 'your wallet (nostr+walletconnect://…) that pays the invoices',
      env: 'NWC_URI',
      secret: true,
      placeholder: 'URI'
    },
    network: {
      type: 'string',
      description: 'Lightning network invoices must be on',
      default: 'bitcoin',
      choices: NETWORK_NAMES,
      env: 'LIGHTNING_NETWORK'
    },
    yes: { type: 'boolean', short: 'y', description: 'do not ask before renting' },
    'no-repl': {
      type: 'boolean',
      description:
        'no prompt: run until the budget is spent or Ctrl-C / SIGTERM (the default when stdin is not a terminal)'
    },
    repl: {
      type: 'boolean',
      description:
        'read prompt commands from stdin even when it is not a terminal (scripts: printf "status\\nquit\\n" | 2020117-session --repl …)'
    },
    'discovery-timeout': {
      type: 'integer',
      description: 'seconds to look for providers',
      default: 10,
      min: 1,
      max: 600
    },
    'status-file': {
      type: 'string',
      description: 'keep the live status as JSON in this file (rewritten atomically every second and on every payment)',
      env: 'SESSION_STATUS_FILE',
      placeholder: 'PATH'
    },
    'output-dir': {
      type: 'string',
      description: 'where `generate` saves images',
      default: './output',
      placeholder: 'DIR'
    },
    ...identityFlags('you'),
    devnet: {
      type: 'string',
      description: 'use the local network started by 2020117-devnet (its DHT, relay and customer wallet, regtest)',
      optionalValue: DEFAULT_DEVNET_DIR,
      placeholder: 'DIR'
    },
    ...NETWORK_FLAGS,
    json: {
      type: 'boolean',
      description: 'print the end-of-session summary as one JSON object on stdout; logs go to stderr'
    },
    ...LOG_FLAGS
  },
  notes: [
    "A dropped connection is resumed within twice the provider's grace, paid time kept. SIGUSR2 drops it on purpose.",
    'Exit status: 0 when you quit or the budget is spent, 3 when the session ended otherwise (refused invoice, provider gone, …), 1-2 on errors before it started.'
  ],
  examples: [
    '2020117-session --devnet --budget=500 --port=8080',
    '2020117-session --budget=500 --max-price=10 --nwc="nostr+walletconnect://…"',
    '2020117-session --budget=200 --provider=npub1… --yes --no-repl --json',
    '2020117-session --list --relays=wss://relay.example.com --json'
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
    const start = await startUp(spec, argv, first, { name: 'session', secrets })
    const { values: v, log } = start
    const devnet = v.devnet !== undefined ? await readRunningState(v.devnet as string) : null
    const nwcUri = walletSecrets(start, devnet)
    const network = networkOf(start, devnet)
    const rules = ratingRules(v)
    if (v.list)
      return listProviders({
        kind: v.kind as number,
        json,
        bootstrap: network.swarm.bootstrap,
        log,
        rules,
        rating: {
          relays: network.relays,
          viewer: start.identity.entry.pubkey,
          network: await networkOfUri(nwcUri, network.lightning),
          log
        }
      })
    const opts = sessionOptions(v, json)
    if (opts.review) refuseSecrets(opts.review.text, secrets)
    const target = await findOnRelays(network.relays, opts, log)
    const wallet = await connectWallet(nwcUri, start, goodbye)
    const local = await openLocal(v, log, goodbye)
    const swarm = new PeerSwarm({ network: network.swarm })
    goodbye(() => swarm.destroy().catch(() => {}))
    const session = await rent({ start, opts, target, network, wallet, local, swarm })
    const reviews: ReviewContext = {
      relays: network.relays,
      secretKey: Buffer.from(start.identity.entry.privkey, 'hex'),
      network: network.lightning,
      log,
      secrets
    }
    return runSession(session, { v, json, log, tunnelUrl: local.tunnelUrl, opts, teardown, reviews })
  },
  { secrets: () => secrets }
)

/** The wallet URI (--devnet's customer wallet unless --nwc is given), its secret redacted before any use. */
function walletSecrets(start: Startup, devnet: RunningState | null): string | undefined {
  const { values: v, identity } = start
  const nwcUri = devnet && !start.explicit('nwc') ? devnet.accounts.customer?.nwc_uri : (v.nwc as string | undefined)
  const nwcSecret = nwcSecretOf(nwcUri)
  if (nwcSecret) start.redact(...secretForms(nwcSecret))
  refuseSecretArguments(v, [
    { hex: identity.entry.privkey, refuse: CliError.PRIVATE_KEY_GIVEN },
    ...(nwcSecret ? [{ hex: nwcSecret, refuse: CliError.SECRET_GIVEN }] : [])
  ])
  return nwcUri
}

interface Networks {
  swarm: NetworkConfig
  lightning: NetworkName
  relays: string[]
}

/** The DHT, the Lightning network and the relays: the flags, else the local network's under --devnet. */
function networkOf(start: Startup, devnet: RunningState | null): Networks {
  const { values: v, explicit } = start
  const n: Networks = {
    swarm: { bootstrap: v.bootstrap ? parseBootstrap(v.bootstrap as string) : null },
    lightning: v.network as NetworkName,
    relays: (v.relays as string[] | undefined) ?? []
  }
  if (devnet) {
    if (!v.bootstrap) n.swarm = { bootstrap: devnet.bootstrap }
    if (!explicit('network')) n.lightning = 'regtest'
    if (!explicit('relays')) n.relays = devnet.relays
  }
  return n
}

interface SessionOptions {
  budget: number
  kind: number
  providerPubkey: string | undefined
  providerKey: Uint8Array | undefined
  tty: boolean
  withRepl: boolean
  rules: RatingRules
  /** --review: published when the session ends. */
  review: ReviewWish | null
}

function ratingRules(v: Values): RatingRules {
  return {
    ...(v['min-score'] !== undefined ? { minScore: v['min-score'] as number } : {}),
    allowFlagged: v['allow-flagged'] === true
  }
}

function sessionOptions(v: Values, json: boolean): SessionOptions {
  if (v.budget === undefined)
    throw CliError.MISSING_FLAG('budget', 'say how many sats this session may spend at most, e.g. --budget=500')
  // A prompt on a terminal; with --repl, the same commands read line by line from piped stdin.
  // --json keeps stdout for the summary alone, so it runs without a prompt.
  const tty = process.stdin.isTTY === true
  if (v.repl && (json || v['no-repl']))
    throw CliError.INVALID_FLAG('repl', `cannot be combined with --${json ? 'json' : 'no-repl'}`, spec.bin)
  return {
    budget: v.budget as number,
    kind: v.kind as number,
    providerPubkey: v.provider ? parsePubkey(v.provider as string) : undefined,
    providerKey: v['swarm-key'] ? parseKey(v['swarm-key'] as string) : undefined,
    tty,
    withRepl: !v['no-repl'] && !json && (tty || v.repl === true),
    rules: ratingRules(v),
    review: v.review !== undefined ? parseReviewFlag(v.review as string, spec.bin) : null
  }
}

interface Target {
  /** The provider's swarm key, when one provider was asked for. */
  providerKey: Uint8Array | undefined
  /** Every provider of the kind online on the relays, when none was asked for. */
  fromRelays: ProviderInfo[]
}

/** Providers on the relays: the one asked for, or every one online for this kind. */
async function findOnRelays(relays: string[], opts: SessionOptions, log: Logger): Promise<Target> {
  const { providerPubkey, kind } = opts
  const target: Target = { providerKey: opts.providerKey, fromRelays: [] }
  if (providerPubkey && !target.providerKey && relays.length === 0)
    throw NostrError.NO_RELAYS(`finding ${npubOf(providerPubkey)} (--provider)`, 'dial its key with --swarm-key')
  if (relays.length === 0 || target.providerKey) return target
  const pool = new RelayPool(relays)
  try {
    if (providerPubkey) {
      const info = await resolveProvider(pool, providerPubkey)
      target.providerKey = Buffer.from(info.swarmKey, 'hex')
      log.info(
        `${peerText(info.name, 64) || npubOf(providerPubkey)} is at swarm key ${info.swarmKey.slice(0, 16)}… (last seen ${new Date(info.lastSeen * 1000).toISOString()})`
      )
    } else {
      target.fromRelays = (await findProviders(pool, { kind, maxAgeS: 600 })).filter((p) => p.status === 'online')
      if (target.fromRelays.length)
        log.info(`${target.fromRelays.length} provider(s) of kind ${kind} online on the relays`)
    }
  } finally {
    pool.close()
  }
  return target
}

async function connectWallet(nwcUri: string | undefined, start: Startup, goodbye: Goodbye): Promise<NwcWallet | null> {
  if (!nwcUri) return null
  const wallet = await NwcWallet.connect(nwcUri)
  goodbye(() => wallet.close())
  start.redact(...wallet.secrets())
  return wallet
}

interface Local {
  listener: net.Server
  early: { release(): void; drop(): void }
  tunnelUrl: string
}

/** Bind the local port first: better to fail here than after paying. */
async function openLocal(v: Values, log: Logger, goodbye: Goodbye): Promise<Local> {
  const listener = await listen(v.host as string, v.port as number)
  goodbye(() => listener.close())
  const early = holdEarly(listener)
  goodbye(() => early.drop())
  const address = listener.address() as net.AddressInfo
  const tunnelUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
  if (!isLoopback(address.address))
    log.warn(`the tunnel listens on ${address.address}: anyone who can reach it uses your paid session`)
  if (v['allow-foreign-origin'])
    log.warn(
      '--allow-foreign-origin: any web page open in your browser can use your paid session (cross-site requests and DNS rebinding are not refused)'
    )
  return { listener, early, tunnelUrl }
}

/** Discovery on the DHT, the choice of a provider, the wallet check, and the session with it. */
async function rent(r: {
  start: Startup
  opts: SessionOptions
  target: Target
  network: Networks
  wallet: NwcWallet | null
  local: Local
  swarm: PeerSwarm
}): Promise<CustomerSession> {
  const { values: v, log, identity } = r.start
  const { kind, budget, providerPubkey } = r.opts
  const { providerKey } = r.target
  // The wallet is asked about itself while the provider is found, not after.
  const facts = r.wallet ? askWallet(r.wallet) : null
  log.info(
    providerKey
      ? `connecting to provider ${Buffer.from(providerKey).toString('hex').slice(0, 16)}…`
      : `looking for providers of kind ${kind}…`
  )
  const candidates = await discover(r.swarm, {
    kind,
    ...(providerKey ? { provider: providerKey } : {}),
    ...(providerPubkey ? { expectedPubkey: providerPubkey } : {}),
    alsoDial: r.target.fromRelays.map((p) => Buffer.from(p.swarmKey, 'hex')),
    timeoutMs: (v['discovery-timeout'] as number) * 1000,
    settleMs: 750,
    log
  })
  const chosen = await pick(candidates, r)
  const offer = offerOf(chosen, kind)
  // A free session pays nothing, so nothing could prove a review: say so before it starts.
  if (r.opts.review && offer.paymentMethod === PAYMENT_FREE) throw SessionCliError.REVIEW_NOT_PAID(true)
  if (offer.paymentMethod === PAYMENT_BOLT11)
    await checkWallet(r.wallet, facts, offer, budget, r.network.lightning, log)
  const session = new CustomerSession({
    channel: chosen.channel,
    offer,
    budgetSats: budget,
    maxFeeSats: v['max-fee'] as number,
    wallet: r.wallet,
    network: r.network.lightning,
    listener: r.local.listener,
    log,
    seenHashes: new Set(),
    allowForeignOrigin: v['allow-foreign-origin'] === true,
    customerPubkey: Buffer.from(identity.entry.pubkey, 'hex'),
    reconnect: reconnectTo(r.swarm, chosen)
  })
  r.local.early.release()
  dropOnSigusr2(r.swarm, chosen, log)
  return session
}

/** The candidates rated as the customer's key sees them, and the best of them chosen; the others let go. */
async function pick(
  candidates: Candidate[],
  r: { start: Startup; opts: SessionOptions; network: Networks; wallet: NwcWallet | null }
): Promise<Candidate> {
  const { values: v, log, identity } = r.start
  const reputations = await rateProviders(
    candidates.map((c) => c.pubkey),
    {
      relays: r.network.relays,
      viewer: identity.entry.pubkey,
      network: await walletNetwork(r.wallet, r.network.lightning),
      log
    }
  )
  const chosen = await choose(candidates, {
    kind: r.opts.kind,
    maxPrice: v['max-price'] as number | undefined,
    yes: v.yes === true,
    log,
    reputations,
    rules: r.opts.rules
  })
  for (const c of candidates) if (c !== chosen) c.channel.close()
  return chosen
}

/** A resume dials the same swarm key: the Noise handshake proves it is the same provider. */
function reconnectTo(swarm: PeerSwarm, chosen: Candidate): (deadline: number) => Promise<SessionChannel> {
  return async (deadline) => {
    const conn = await swarm.connectTo(chosen.conn.remotePublicKey, Math.max(1000, deadline - Date.now()))
    const channel = new SessionChannel(conn, { role: 'customer', software: SOFTWARE })
    await channel.opened()
    return channel
  }
}

/** SIGUSR2 cuts the connection to the provider, to see a resume happen (and to test it). */
function dropOnSigusr2(swarm: PeerSwarm, chosen: Candidate, log: Logger): void {
  process.on('SIGUSR2', () => {
    log.warn('SIGUSR2: dropping the connection to the provider')
    for (const conn of swarm.connections)
      if (Buffer.compare(Buffer.from(conn.remotePublicKey), Buffer.from(chosen.conn.remotePublicKey)) === 0)
        conn.destroy()
  })
}

/** The running session: its log lines, the status file, the prompt, and the ending. */
async function runSession(
  session: CustomerSession,
  o: {
    v: Values
    json: boolean
    log: Logger
    tunnelUrl: string
    opts: SessionOptions
    teardown: () => Promise<void>
    reviews: ReviewContext
  }
): Promise<number> {
  const { v, log, tunnelUrl } = o
  const budget = v.budget as number
  session.on('open', () => log.info(`tunnel open: ${tunnelUrl} → ${session.offer.name}. Open it in your browser.`))
  session.on('paid', (p: { seq: number; amountMsat: number; spentMsat: number }) =>
    log.info(`paid tick ${p.seq}: ${p.amountMsat} msat (${p.spentMsat} msat of ${budget} sats spent)`)
  )
  session.start()
  const statusFile = v['status-file'] ? startStatusFile(v['status-file'] as string, session) : null
  let rl: readline.Interface | null = null
  const stop = () => session.quit('CUSTOMER_QUIT', 'the user ended the session')
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  session.once('open', () => {
    if (!o.opts.withRepl) return
    const output = process.stdout
    rl = startRepl({
      session,
      tunnelUrl,
      input: process.stdin,
      output,
      terminal: o.opts.tty,
      outputDir: v['output-dir'] as string,
      onquit: stop,
      review: (wish) => publishReview(session, wish, o.reviews)
    })
    rl.on('SIGINT', stop)
  })
  const ended = await session.ended()
  await statusFile?.final(ended)
  ;(rl as readline.Interface | null)?.close()
  const summary = o.opts.review ? { ...ended, review: await reviewAtEnd(session, o.opts.review, o.reviews) } : ended
  await o.teardown()
  printSummary(summary, o.json, log)
  return summary.reason === 'CUSTOMER_QUIT' || summary.reason === 'BUDGET_EXHAUSTED' ? 0 : 3
}

type ReviewOutcome = Published | { error: { code: string; message: string } }

/** --review, once the session is over: published, or the reason it was not (in the summary, and logged). */
async function reviewAtEnd(session: CustomerSession, wish: ReviewWish, ctx: ReviewContext): Promise<ReviewOutcome> {
  try {
    return await publishReview(session, wish, ctx)
  } catch (err) {
    const e = err as Error & { code?: string }
    const code = typeof e.code === 'string' ? e.code : 'REVIEW_FAILED'
    ctx.log.error(`review not published (${code}): ${e.message}`)
    return { error: { code, message: e.message } }
  }
}

/** Scripts read the running session here instead of going through the prompt. */
function startStatusFile(path: string, session: CustomerSession): { final(summary: SessionSummary): Promise<void> } {
  let writing: Promise<void> = Promise.resolve()
  const write = (body: unknown) => {
    writing = writing
      .then(async () => {
        await writeFileAtomic(path, JSON.stringify(body) + '\n')
      })
      .catch(() => {})
    return writing
  }
  const update = () => void write({ ...session.status(), updated_at: new Date().toISOString() })
  const timer = setInterval(update, 1000)
  session.on('paid', update)
  session.on('open', update)
  update()
  return {
    final(summary) {
      clearInterval(timer)
      return write({ ...session.status(), summary, updated_at: new Date().toISOString() })
    }
  }
}

/** The connection secret of an NWC URI (64 hex), read locally: the wallet client is not started yet. */
function nwcSecretOf(uri: string | undefined): string | null {
  const m = uri ? /[?&]secret=([0-9a-f]{64})(?![0-9a-z])/i.exec(uri) : null
  return m ? (m[1] as string).toLowerCase() : null
}

/**
 * A secret this session holds, pasted where a provider's key belongs (--provider, --swarm-key, from a
 * flag, the environment or the keys file), would be sent to the relays or the DHT and printed back as
 * an npub that decodes to it. Refuse it in any of its encodings, without echoing it.
 */
function refuseSecretArguments(
  values: Record<string, FlagValue>,
  held: Array<{ hex: string; refuse: (flag: string) => CliError }>
): void {
  for (const flag of ['provider', 'swarm-key'] as const) {
    const given = values[flag]
    if (typeof given !== 'string') continue
    const text = given.toLowerCase()
    for (const { hex, refuse } of held)
      if (secretForms(hex).some((form) => text.includes(form.toLowerCase()))) throw refuse(flag)
  }
}

function parseKey(value: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/i.test(value))
    throw CliError.INVALID_FLAG(
      'swarm-key',
      "must be the provider's 64-hex swarm key (printed by 2020117-agent at start)",
      spec.bin
    )
  return Buffer.from(value, 'hex')
}

function listen(host: string, port: number): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true })
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(CliError.PORT_IN_USE(host, port))
      else reject(err)
    })
    server.listen(port, host, () => resolve(server))
  })
}

/**
 * Connections made while the session is still being set up (discovery, the wallet check) wait for
 * it, as those made before the first payment do; release() hands them to the session.
 */
function holdEarly(server: net.Server): { release(): void; drop(): void } {
  const early: net.Socket[] = []
  const hold = (sock: net.Socket) => {
    sock.on('error', () => {})
    if (early.length >= 64) sock.destroy()
    else early.push(sock)
  }
  server.on('connection', hold)
  return {
    release() {
      server.off('connection', hold)
      for (const sock of early.splice(0)) if (!sock.destroyed) server.emit('connection', sock)
    },
    drop() {
      server.off('connection', hold)
      for (const sock of early.splice(0)) sock.destroy()
    }
  }
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.')
}

function offerOf(c: Candidate, kind: number): Offer {
  const price = c.skill.offers.find((o) => o.kind === kind)?.satsPerMinute ?? 0
  return {
    swarmKey: c.swarmKey,
    pubkey: c.pubkey,
    name: c.name,
    kind,
    satsPerMinute: price,
    tickSeconds: c.skill.tickSeconds,
    paymentMethod: c.skill.paymentMethods.includes(PAYMENT_FREE) && price === 0 ? PAYMENT_FREE : PAYMENT_BOLT11,
    manifest: c.manifest
  }
}

interface ChoiceOptions {
  kind: number
  maxPrice: number | undefined
  yes: boolean
  log: Logger
  reputations: Map<string, Reputation>
  rules: RatingRules
}

async function choose(candidates: Candidate[], opts: ChoiceOptions): Promise<Candidate> {
  showCandidates(candidates, opts)
  const best = bestOf(candidates, opts)
  const price = priceOf(best, opts.kind)
  if (opts.yes || (opts.maxPrice !== undefined && price <= opts.maxPrice) || price === 0) return best
  // The question carries the offer's numbers and the provider's key, never provider text: a name
  // could say "1 sats/min" beside the real price.
  const who = `provider ${best.swarmKey.slice(0, 16)}…`
  if (!process.stdin.isTTY) throw CliError.CONFIRMATION_REQUIRED(who, price)
  const rep = opts.reputations.get(best.pubkey)
  const answer = await ask(
    `rent ${who} (${scoreText(rep?.score ?? 0, rep?.flagged ?? false)}) at ${price} sats/min (${price * 60} sats/hour), billed every ${best.skill.tickSeconds} s? [y/N] `
  )
  if (!/^y(es)?$/i.test(answer.trim())) throw CliError.DECLINED()
  return best
}

/** The numbers come first, from the decoded offer and the reputation; the provider's name (stripped, quoted) last, so that no name can pass itself off as a price or a score. */
function showCandidates(candidates: Candidate[], opts: ChoiceOptions): void {
  opts.log.info(`found ${candidates.length} provider(s):`)
  for (const c of candidates) {
    const price = c.skill.offers.find((o) => o.kind === opts.kind)?.satsPerMinute
    const terms = price === undefined ? 'does not serve this kind' : price === 0 ? 'free' : `${price} sats/min`
    const rep = opts.reputations.get(c.pubkey)
    const score = scoreText(rep?.score ?? 0, rep?.flagged ?? false)
    opts.log.info(
      `  ${terms.padEnd(16)} ${score.padEnd(20)} capacity ${c.skill.capacity}/${c.skill.maxSessions}  ${c.swarmKey.slice(0, 16)}…  ${JSON.stringify(peerText(c.name, 64))}`
    )
  }
}

/**
 * Among the providers that can serve, the one rankProviders puts first: the price divided by
 * 1 + score/100, so a provider scoring 100 is worth twice the price of one scoring 0. Flagged ones
 * (unless --allow-flagged) and those under --min-score are set aside, and said so.
 */
function bestOf(candidates: Candidate[], opts: ChoiceOptions): Candidate {
  const usable = candidates
    .filter((c) => c.skill.capacity > 0)
    .filter((c) => c.skill.offers.some((o) => o.kind === opts.kind))
    .filter((c) => c.skill.paymentMethods.includes(PAYMENT_BOLT11) || c.skill.paymentMethods.includes(PAYMENT_FREE))
  if (usable.length === 0) throw CliError.NO_USABLE_PROVIDER(opts.kind)
  const ranking = rankProviders(
    usable.map((c) => ({ pubkey: c.pubkey, priceMsat: priceOf(c, opts.kind) * 1000, candidate: c })),
    opts.reputations,
    opts.rules
  )
  for (const s of ranking.skipped)
    opts.log.info(
      `  skipped ${s.item.candidate.swarmKey.slice(0, 16)}…: ${s.reason === 'FLAGGED' ? 'flagged (--allow-flagged rents from it anyway)' : `${scoreText(s.score, false)}, under --min-score=${opts.rules.minScore}`}`
    )
  const best = ranking.eligible[0]
  if (!best) throw nobodyQualifies(ranking, opts.rules)
  if (ranking.eligible.length > 1)
    opts.log.info(
      `chose ${best.item.candidate.swarmKey.slice(0, 16)}…: ${priceOf(best.item.candidate, opts.kind)} sats/min at ${scoreText(best.score, false)} (${Math.round(best.effectivePriceMsat)} msat/min weighed by score, the lowest)`
    )
  return best.item.candidate
}

function priceOf(c: Candidate, kind: number): number {
  return c.skill.offers.find((o) => o.kind === kind)?.satsPerMinute ?? Infinity
}

function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
  return new Promise((resolve) => rl.question(question, (a) => (rl.close(), resolve(a))))
}

interface WalletFacts {
  info: Promise<WalletInfo>
  balance: Promise<number | null>
}

/**
 * get_info and get_balance, asked at once. A free session never awaits them, so their failures
 * are held until checkWallet reads them. The invoice decoder loads meanwhile: the thread would
 * only wait for the network.
 */
function askWallet(wallet: NwcWallet): WalletFacts {
  const facts = { info: wallet.info(), balance: wallet.balanceMsat() }
  facts.info.catch(() => {})
  facts.balance.catch(() => {})
  return facts
}

/** The wallet must answer, be on the right network, and hold at least one tick before we start. */
async function checkWallet(
  wallet: NwcWallet | null,
  facts: WalletFacts | null,
  offer: Offer,
  budget: number,
  network: NetworkName,
  log: Logger
): Promise<void> {
  if (!wallet || !facts) throw WalletError.NO_WALLET('pay')
  const info = await facts.info
  if (!info.methods.includes('pay_invoice')) throw CliError.WALLET_CANNOT_PAY()
  const walletNetwork = walletNetworkName(info.network)
  if (walletNetwork && walletNetwork !== network)
    throw CliError.WALLET_NETWORK_MISMATCH(String(info.network), network, walletNetwork)
  const balance = await facts.balance
  const tick = tickAmountMsat(offer.satsPerMinute, offer.tickSeconds)
  if (balance !== null) {
    if (balance < tick) throw WalletError.INSUFFICIENT_BALANCE(`${balance} msat, one tick costs ${tick} msat`)
    if (balance < budget * 1000)
      log.warn(`the wallet holds ${Math.floor(balance / 1000)} sats, less than the ${budget} sat budget`)
  }
  log.info(
    `wallet ${info.alias ?? wallet.displayUri}: ${balance === null ? 'balance hidden' : `${Math.floor(balance / 1000)} sats`}; budget ${budget} sats`
  )
}

function printSummary(summary: SessionSummary & { review?: ReviewOutcome }, json: boolean, log: Logger): void {
  // The message may be the provider's (session_end, session_reject, error).
  const s = { ...summary, message: peerText(summary.message, 1000) }
  if (json) {
    process.stdout.write(JSON.stringify(s) + '\n')
    return
  }
  const lines = [
    `session ended: ${s.reason}${s.message ? ` (${s.message})` : ''}`,
    `  duration     ${s.duration_s} s`,
    `  ticks paid   ${s.ticks_paid}`,
    `  paid         ${s.sats_paid} sats (${s.msat_paid} msat) of a ${s.budget_sats} sat budget`,
    ...(s.msat_pending > 0
      ? [`  pending      ${s.msat_pending} msat the wallet may have paid without confirming it: check your wallet`]
      : []),
    `  traffic      ${s.bytes_up} bytes up, ${s.bytes_down} bytes down`,
    `  resumed      ${s.resumes === 0 ? 'no' : `${s.resumes} time(s) after a dropped connection`}`,
    ...(s.review ? [`  review       ${reviewLine(s.review)}`] : [])
  ]
  // On a terminal the prompt may still be on the current line.
  process.stdout.write((process.stdout.isTTY ? '\n' : '') + lines.join('\n') + '\n')
  if (s.by !== 'customer' && s.reason !== 'BUDGET_EXHAUSTED')
    log.warn(`the session was ended by the ${s.by}: ${s.reason}`)
}

function reviewLine(r: ReviewOutcome): string {
  if ('error' in r) return `not published: ${r.error.code}`
  return `event ${r.event_id} published on ${r.relays} relay(s)`
}
