#!/usr/bin/env node
// 2020117-session: rent a provider's service by the minute and use it at http://localhost:PORT.

import net from 'node:net'
import readline from 'node:readline'
import {
  createLogger,
  CliError,
  LOG_FLAGS,
  logLevelOf,
  NETWORK_FLAGS,
  parseFlags,
  peerText,
  runMain,
  writeFileAtomic,
  type CommandSpec,
  type FlagValue,
  type Logger
} from '@2020117/cli'
import {
  findProviders,
  keyEntryFlags,
  loadIdentity,
  npubOf,
  parsePubkey,
  RelayPool,
  resolveProvider,
  secretForms,
  type ProviderInfo
} from '@2020117/nostr'
import { readRunningState, DEFAULT_DEVNET_DIR } from '@2020117/devnet/state'
import {
  kinds as KIND,
  MAX_BUDGET_SATS,
  PAYMENT_BOLT11,
  PAYMENT_FREE,
  SessionChannel,
  tickAmountMsat
} from '@2020117/protocol'
import { PeerSwarm, parseBootstrap, type NetworkConfig } from '@2020117/swarm'
import { NETWORK_NAMES, NwcWallet, WalletError, type NetworkName } from '@2020117/wallet'
import { setWalletLogSink } from '@2020117/wallet'
import { CustomerSession, type Offer, type Summary } from './customer.js'
import { discover, SOFTWARE, type Candidate } from './discover.js'
import { startRepl } from './repl.js'

const spec: CommandSpec = {
  bin: '2020117-session',
  summary:
    "rent a provider's service by the minute, pay each period through Nostr Wallet Connect, and use it at http://localhost:PORT",
  usage: [
    '2020117-session --budget=SATS [--port=8080] [--kind=5200] [--provider=KEY] [--max-price=N] [--nwc=URI] [--yes] [--no-repl] [--json]'
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
    list: { type: 'boolean', description: 'list the providers online on the relays (with --kind, --json) and exit' },
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
    agent: {
      type: 'string',
      description: 'which entry of the keys file is you (created on first run)',
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

await runMain(
  spec,
  process.argv.slice(2),
  async ({ flags: first, json }) => {
    // The keys file supplies defaults (nwc_uri, relays): parse again with them, so a flag beats the
    // environment, which beats the file.
    const identity = await loadIdentity({
      name: first.values.agent as string,
      ...(first.values['keys-file'] ? { path: first.values['keys-file'] as string } : {})
    })
    const flags = parseFlags(spec, process.argv.slice(2), { file: keyEntryFlags(identity.entry) })
    const v = flags.values
    const log = createLogger({ level: logLevelOf(v), name: 'session' })
    setWalletLogSink(log) // what @getalby/sdk prints goes through this logger, not raw to stderr
    for (const form of secretForms(identity.entry.privkey)) {
      log.addSecret(form)
      secrets.push(form)
    }
    const explicit = (name: string) => flags.sources[name] === 'flag' || flags.sources[name] === 'env'
    const devnet = v.devnet !== undefined ? await readRunningState(v.devnet as string) : null
    let nwcUri = v.nwc as string | undefined
    if (devnet && !explicit('nwc')) nwcUri = devnet.accounts.customer?.nwcUri
    // The wallet secret is known from here on, before anything touches the network.
    const nwcSecret = nwcSecretOf(nwcUri)
    if (nwcSecret)
      for (const form of secretForms(nwcSecret)) {
        log.addSecret(form)
        secrets.push(form)
      }
    refuseSecretArguments(v, [
      { hex: identity.entry.privkey, refuse: CliError.PRIVATE_KEY_GIVEN },
      ...(nwcSecret ? [{ hex: nwcSecret, refuse: CliError.SECRET_GIVEN }] : [])
    ])
    let relays = (v.relays as string[] | undefined) ?? []
    if (v.list) {
      if (v.devnet !== undefined && !explicit('relays')) relays = (await readRunningState(v.devnet as string)).relays
      return listProviders(
        relays,
        v.kind as number,
        json,
        v.devnet !== undefined ? (await readRunningState(v.devnet as string)).bootstrap : null,
        log
      )
    }
    if (v.budget === undefined)
      throw CliError.MISSING_FLAG('budget', 'say how many sats this session may spend at most, e.g. --budget=500')
    const budget = v.budget as number
    const kind = v.kind as number
    const providerPubkey = v.provider ? parsePubkey(v.provider as string) : undefined
    let providerKey = v['swarm-key'] ? parseKey(v['swarm-key'] as string) : undefined
    // A prompt on a terminal; with --repl, the same commands read line by line from piped stdin.
    // --json keeps stdout for the summary alone, so it runs without a prompt.
    const tty = process.stdin.isTTY === true
    if (v.repl && (json || v['no-repl']))
      throw CliError.INVALID_FLAG('repl', `cannot be combined with --${json ? 'json' : 'no-repl'}`, spec.bin)
    const withRepl = !v['no-repl'] && !json && (tty || v.repl === true)

    let network: NetworkConfig = { bootstrap: v.bootstrap ? parseBootstrap(v.bootstrap as string) : null }
    let lnNetwork = v.network as NetworkName
    if (devnet) {
      if (!v.bootstrap) network = { bootstrap: devnet.bootstrap }
      if (!explicit('network')) lnNetwork = 'regtest'
      if (!explicit('relays')) relays = devnet.relays
    }
    // Providers on the relays: the one asked for, or every one online for this kind.
    const pool = relays.length ? new RelayPool(relays) : null
    let fromRelays: ProviderInfo[] = []
    try {
      if (providerPubkey && !providerKey) {
        if (!pool)
          throw new CliError(
            'NO_RELAYS',
            `--provider needs relays to find ${npubOf(providerPubkey)}: pass --relays (or --devnet), or dial its key with --swarm-key`,
            2
          )
        const info = await resolveProvider(pool, providerPubkey)
        providerKey = Buffer.from(info.swarmKey, 'hex')
        log.info(
          `${peerText(info.name, 64) || npubOf(providerPubkey)} is at swarm key ${info.swarmKey.slice(0, 16)}… (last seen ${new Date(info.lastSeen * 1000).toISOString()})`
        )
      } else if (!providerKey && pool) {
        fromRelays = (await findProviders(pool, { kind, maxAgeS: 600 })).filter((p) => p.status === 'online')
        if (fromRelays.length) log.info(`${fromRelays.length} provider(s) of kind ${kind} online on the relays`)
      }
    } finally {
      pool?.close()
    }
    let wallet: NwcWallet | null = null
    if (nwcUri) {
      wallet = await NwcWallet.connect(nwcUri)
      secrets.push(...wallet.secrets())
      for (const s of wallet.secrets()) log.addSecret(s)
    }

    // Bind the local port first: better to fail here than after paying.
    const listener = await listen(v.host as string, v.port as number)
    const early = holdEarly(listener)
    const address = listener.address() as net.AddressInfo
    const tunnelUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
    if (!isLoopback(address.address))
      log.warn(`the tunnel listens on ${address.address}: anyone who can reach it uses your paid session`)
    if (v['allow-foreign-origin'])
      log.warn(
        '--allow-foreign-origin: any web page open in your browser can use your paid session (cross-site requests and DNS rebinding are not refused)'
      )

    const swarm = new PeerSwarm({ network })
    const cleanup = async () => {
      early.drop()
      listener.close()
      wallet?.close()
      await swarm.destroy().catch(() => {})
    }
    let session: CustomerSession
    try {
      log.info(
        providerKey
          ? `connecting to provider ${Buffer.from(providerKey).toString('hex').slice(0, 16)}…`
          : `looking for providers of kind ${kind}…`
      )
      const candidates = await discover(swarm, {
        kind,
        ...(providerKey ? { provider: providerKey } : {}),
        ...(providerPubkey ? { expectedPubkey: providerPubkey } : {}),
        alsoDial: fromRelays.map((p) => Buffer.from(p.swarmKey, 'hex')),
        timeoutMs: (v['discovery-timeout'] as number) * 1000,
        settleMs: 750,
        log
      })
      const chosen = await choose(candidates, {
        kind,
        wallet,
        maxPrice: v['max-price'] as number | undefined,
        yes: v.yes === true,
        log
      })
      for (const c of candidates) if (c !== chosen) c.channel.close()
      const offer = offerOf(chosen, kind)

      if (offer.paymentMethod === PAYMENT_BOLT11) await checkWallet(wallet, offer, budget, lnNetwork, log)
      session = new CustomerSession({
        channel: chosen.channel,
        offer,
        budgetSats: budget,
        maxFeeSats: v['max-fee'] as number,
        wallet,
        network: lnNetwork,
        listener,
        log,
        seenHashes: new Set(),
        allowForeignOrigin: v['allow-foreign-origin'] === true,
        customerPubkey: Buffer.from(identity.entry.pubkey, 'hex'),
        // A resume dials the same swarm key: the Noise handshake proves it is the same provider.
        reconnect: async (deadline) => {
          const conn = await swarm.connectTo(chosen.conn.remotePublicKey, Math.max(1000, deadline - Date.now()))
          const channel = new SessionChannel(conn, { role: 'customer', software: SOFTWARE })
          await channel.opened()
          return channel
        }
      })
      early.release()
      // SIGUSR2 cuts the connection to the provider, to see a resume happen (and to test it).
      process.on('SIGUSR2', () => {
        log.warn('SIGUSR2: dropping the connection to the provider')
        for (const conn of swarm.connections)
          if (Buffer.compare(Buffer.from(conn.remotePublicKey), Buffer.from(chosen.conn.remotePublicKey)) === 0)
            conn.destroy()
      })
    } catch (err) {
      await cleanup()
      throw err
    }

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
      if (!withRepl) return
      rl = startRepl({
        session,
        tunnelUrl,
        input: process.stdin,
        output: process.stdout,
        terminal: tty,
        outputDir: v['output-dir'] as string,
        onquit: stop
      })
      rl.on('SIGINT', stop)
    })

    const summary = await session.ended()
    await statusFile?.final(summary)
    ;(rl as readline.Interface | null)?.close()
    await cleanup()
    printSummary(summary, json, log)
    return summary.reason === 'CUSTOMER_QUIT' || summary.reason === 'BUDGET_EXHAUSTED' ? 0 : 3
  },
  { secrets: () => secrets }
)

/** Scripts read the running session here instead of going through the prompt. */
function startStatusFile(path: string, session: CustomerSession): { final(summary: Summary): Promise<void> } {
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

/** --list: the providers online on the relays, and whether each answers on the DHT. */
async function listProviders(
  relays: string[],
  kind: number,
  json: boolean,
  bootstrap: Array<{ host: string; port: number }> | null,
  log: Logger
): Promise<number> {
  if (relays.length === 0) throw new CliError('NO_RELAYS', 'listing needs relays: pass --relays (or --devnet)', 2)
  const pool = new RelayPool(relays)
  let providers: ProviderInfo[]
  try {
    providers = (await findProviders(pool, { kind, maxAgeS: 600 })).filter((p) => p.status === 'online')
  } finally {
    pool.close()
  }
  const swarm = new PeerSwarm({ network: { bootstrap } })
  const reachable = await Promise.all(
    providers.map((p) =>
      swarm.connectTo(Buffer.from(p.swarmKey, 'hex'), 5000).then(
        () => true,
        () => false
      )
    )
  )
  await swarm.destroy(500)
  const rows = providers.map((p, i) => ({
    npub: p.npub,
    pubkey: p.pubkey,
    name: peerText(p.name, 64),
    kinds: p.kinds,
    sats_per_minute: p.prices[String(kind)] ?? null,
    capacity: p.capacity,
    max_sessions: p.maxSessions,
    last_seen: new Date(p.lastSeen * 1000).toISOString(),
    reachable: reachable[i] as boolean,
    swarm_key: p.swarmKey
  }))
  if (json) process.stdout.write(JSON.stringify({ providers: rows }) + '\n')
  else if (rows.length === 0) log.info(`no providers of kind ${kind} online on ${relays.join(', ')}`)
  else {
    for (const r of rows) {
      process.stdout.write(
        `${r.npub}  ${(r.name || '-').padEnd(20)} kinds ${r.kinds.join(',').padEnd(10)} ${r.sats_per_minute ?? '?'} sats/min  capacity ${r.capacity ?? '?'}/${r.max_sessions ?? '?'}  seen ${r.last_seen}  ${r.reachable ? 'reachable' : 'unreachable'}\n`
      )
    }
  }
  return 0
}

function listen(host: string, port: number): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true })
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        reject(new CliError('PORT_IN_USE', `port ${port} on ${host} is in use: choose another with --port`, 2))
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
    name: c.name,
    kind,
    satsPerMinute: price,
    tickSeconds: c.skill.tickSeconds,
    paymentMethod: c.skill.paymentMethods.includes(PAYMENT_FREE) && price === 0 ? PAYMENT_FREE : PAYMENT_BOLT11,
    manifest: c.manifest
  }
}

async function choose(
  candidates: Candidate[],
  opts: { kind: number; wallet: NwcWallet | null; maxPrice: number | undefined; yes: boolean; log: Logger }
): Promise<Candidate> {
  opts.log.info(`found ${candidates.length} provider(s):`)
  // The numbers come first, from the decoded offer; the provider's name (stripped, quoted) last, so
  // that no name can pass itself off as a price.
  for (const c of candidates) {
    const price = c.skill.offers.find((o) => o.kind === opts.kind)?.satsPerMinute
    const terms = price === undefined ? 'does not serve this kind' : price === 0 ? 'free' : `${price} sats/min`
    opts.log.info(
      `  ${terms.padEnd(16)} capacity ${c.skill.capacity}/${c.skill.maxSessions}  ${c.swarmKey.slice(0, 16)}…  ${JSON.stringify(peerText(c.name, 64))}`
    )
  }
  const usable = candidates
    .filter((c) => c.skill.capacity > 0)
    .filter((c) => c.skill.offers.some((o) => o.kind === opts.kind))
    .filter((c) => c.skill.paymentMethods.includes(PAYMENT_BOLT11) || c.skill.paymentMethods.includes(PAYMENT_FREE))
    .sort((a, b) => priceOf(a, opts.kind) - priceOf(b, opts.kind))
  const best = usable[0]
  if (!best)
    throw new CliError(
      'NO_USABLE_PROVIDER',
      `no provider of kind ${opts.kind} has a free slot and a payment method this client supports; try again later`
    )
  const price = priceOf(best, opts.kind)
  if (opts.yes || (opts.maxPrice !== undefined && price <= opts.maxPrice) || price === 0) return best
  // The question carries the offer's numbers and the provider's key, never provider text: a name
  // could say "1 sats/min" beside the real price.
  const who = `provider ${best.swarmKey.slice(0, 16)}…`
  if (!process.stdin.isTTY) {
    throw new CliError(
      'CONFIRMATION_REQUIRED',
      `${who} asks ${price} sats/min: pass --yes, or --max-price=${price} to accept prices up to that without asking`,
      2
    )
  }
  const answer = await ask(
    `rent ${who} at ${price} sats/min (${price * 60} sats/hour), billed every ${best.skill.tickSeconds} s? [y/N] `
  )
  if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('DECLINED', 'you declined the price; nothing was paid', 2)
  return best
}

function priceOf(c: Candidate, kind: number): number {
  return c.skill.offers.find((o) => o.kind === kind)?.satsPerMinute ?? Infinity
}

function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
  return new Promise((resolve) => rl.question(question, (a) => (rl.close(), resolve(a))))
}

/** The wallet must answer, be on the right network, and hold at least one tick before we start. */
async function checkWallet(
  wallet: NwcWallet | null,
  offer: Offer,
  budget: number,
  network: NetworkName,
  log: Logger
): Promise<void> {
  if (!wallet) throw WalletError.NO_WALLET()
  const info = await wallet.info()
  if (!info.methods.includes('pay_invoice'))
    throw new CliError('WALLET_CANNOT_PAY', 'this NWC connection may not pay_invoice: enable it in your wallet')
  const walletNetwork = info.network === 'mainnet' ? 'bitcoin' : info.network
  if (walletNetwork && walletNetwork !== network)
    throw new CliError(
      'WALLET_NETWORK_MISMATCH',
      `the wallet is on ${info.network}, invoices are expected on ${network}: pass --network=${walletNetwork} if that is intended`
    )
  const balance = await wallet.balanceMsat()
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

function printSummary(summary: Summary, json: boolean, log: Logger): void {
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
    `  traffic      ${s.bytes_up} bytes up, ${s.bytes_down} bytes down`,
    `  resumed      ${s.resumes === 0 ? 'no' : `${s.resumes} time(s) after a dropped connection`}`
  ]
  // On a terminal the prompt may still be on the current line.
  process.stdout.write((process.stdout.isTTY ? '\n' : '') + lines.join('\n') + '\n')
  if (s.by !== 'customer' && s.reason !== 'BUDGET_EXHAUSTED')
    log.warn(`the session was ended by the ${s.by}: ${s.reason}`)
}
