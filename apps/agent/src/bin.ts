#!/usr/bin/env node
// 2020117-agent: rent out a local service (a Stable Diffusion WebUI, an LLM server) by the minute.

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import HyperDHT from 'hyperdht'
import {
  createLogger,
  CliError,
  LOG_FLAGS,
  logLevelOf,
  NETWORK_FLAGS,
  parseFlags,
  runMain,
  type CommandSpec,
  type Logger
} from '@2020117/cli'
import { keyEntryFlags, loadIdentity, npubOf, Presence, RelayPool, secretForms } from '@2020117/nostr'
import { readRunningState, DEFAULT_DEVNET_DIR } from '@2020117/devnet/state'
import { kinds as KIND, MAX_MANIFEST_BYTES, MAX_SATS_PER_MINUTE, MAX_TICK_SECONDS } from '@2020117/protocol'
import { parseBootstrap, type NetworkConfig } from '@2020117/swarm'
import { NwcWallet } from '@2020117/wallet'
import { setWalletLogSink } from '@2020117/wallet'
import { lightningAddressInvoicer, nwcInvoicer, type Invoicer } from './billing.js'
import { CreditedPayments, creditedPath } from './credited.js'
import { Provider, SOFTWARE } from './provider.js'

const spec: CommandSpec = {
  bin: '2020117-agent',
  summary: 'rent out a local service by the minute over Hyperswarm, paid in Lightning through Nostr Wallet Connect',
  usage: [
    '2020117-agent --kind=5200 --processor=http://127.0.0.1:7860 --sats-per-minute=5 --nwc=<uri>',
    '2020117-agent --devnet --sats-per-minute=5'
  ],
  flags: {
    kind: {
      type: 'string',
      multiple: true,
      description: 'service kind to serve (NIP-90 job kind); 5200 = Stable Diffusion WebUI session',
      default: String(KIND.StableDiffusionSession),
      env: 'AGENT_KIND',
      placeholder: 'N'
    },
    processor: {
      type: 'string',
      description: 'the local service to rent out; the only place tunnel traffic goes',
      default: 'http://127.0.0.1:7860',
      env: 'AGENT_PROCESSOR',
      placeholder: 'URL'
    },
    'sats-per-minute': {
      type: 'integer',
      description: 'your price; an integer ≥ 1 (you alone set it)',
      min: 1,
      max: MAX_SATS_PER_MINUTE,
      env: 'AGENT_SATS_PER_MINUTE'
    },
    free: { type: 'boolean', description: 'serve without payment (explicit: there is no other way to run unpaid)' },
    'tick-seconds': {
      type: 'integer',
      description: 'billing period; each period is paid ahead',
      default: 60,
      min: 1,
      max: MAX_TICK_SECONDS,
      env: 'AGENT_TICK_SECONDS'
    },
    'grace-seconds': {
      type: 'integer',
      description: 'an unpaid tick suspends new streams after this, and ends the session after twice this',
      default: 30,
      min: 1,
      max: 3600,
      env: 'AGENT_GRACE_SECONDS'
    },
    'max-sessions': {
      type: 'integer',
      description: 'concurrent customer sessions',
      default: 4,
      min: 1,
      max: 1000,
      env: 'AGENT_MAX_SESSIONS'
    },
    nwc: {
      type: 'string',
      description: 'your wallet (nostr+walletconnect://…), used to make and check invoices',
      env: 'NWC_URI',
      secret: true,
      placeholder: 'URI'
    },
    'lightning-address': {
      type: 'string',
      description: 'receive through LNURL-pay at name@domain when you have no NWC wallet',
      env: 'LIGHTNING_ADDRESS',
      placeholder: 'ADDR'
    },
    'invoice-expiry': {
      type: 'integer',
      description: 'seconds each invoice stays payable',
      default: 600,
      min: 60,
      max: 86_400
    },
    skill: {
      type: 'string',
      description: 'skill manifest JSON file shown to customers (default: generated)',
      env: 'AGENT_SKILL',
      placeholder: 'FILE'
    },
    name: { type: 'string', description: 'name shown to customers', default: '2020117 agent', env: 'AGENT_NAME' },
    'deny-path': {
      type: 'string',
      multiple: true,
      description: 'refuse requests under this path with 403',
      placeholder: 'PATH'
    },
    agent: {
      type: 'string',
      description: 'which entry of the keys file is this agent (created on first run)',
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
      description: 'use the local network started by 2020117-devnet (its DHT, relay and provider wallet)',
      optionalValue: DEFAULT_DEVNET_DIR,
      placeholder: 'DIR'
    },
    ...NETWORK_FLAGS,
    json: {
      type: 'boolean',
      description: 'JSON lines on stdout (ready, session events, summary); logs stay on stderr'
    },
    ...LOG_FLAGS
  },
  examples: [
    '2020117-devnet &   # then, in another terminal:',
    '2020117-agent --devnet --sats-per-minute=5',
    '2020117-agent --kind=5200 --processor=http://127.0.0.1:7860 --sats-per-minute=5 --nwc="nostr+walletconnect://…"',
    '2020117-agent --kind=5050 --processor=http://127.0.0.1:11434 --sats-per-minute=2 --tick-seconds=30 --lightning-address=me@getalby.com',
    '2020117-agent --free --processor=http://127.0.0.1:3000 --deny-path=/admin'
  ]
}

const secrets: string[] = []

await runMain(
  spec,
  process.argv.slice(2),
  async ({ flags: first, json }) => {
    // The keys file supplies defaults (nwc_uri, lightning_address, relays): parse again with them,
    // so a flag beats the environment, which beats the file.
    const identity = await loadIdentity({
      name: first.values.agent as string,
      ...(first.values['keys-file'] ? { path: first.values['keys-file'] as string } : {})
    })
    const e = identity.entry
    const flags = parseFlags(spec, process.argv.slice(2), { file: keyEntryFlags(e) })
    const v = flags.values
    const log = createLogger({ level: logLevelOf(v), name: 'agent' })
    setWalletLogSink(log) // what @getalby/sdk prints goes through this logger, not raw to stderr
    for (const form of secretForms(e.privkey)) {
      log.addSecret(form)
      secrets.push(form)
    }
    log.info(
      `${identity.created ? 'created' : 'using'} identity "${identity.name}" ${npubOf(e.pubkey)} (${identity.path})`
    )
    const emit = (event: Record<string, unknown>) => {
      if (json) process.stdout.write(JSON.stringify(event) + '\n')
    }

    const kinds = (v.kind as string[]).map((k) => {
      if (!/^\d+$/.test(k) || Number(k) > 65535)
        throw CliError.INVALID_FLAG('kind', `must be a number from 0 to 65535, got "${k}"`, spec.bin)
      return Number(k)
    })
    const free = v.free === true
    if (free && v['sats-per-minute'] !== undefined)
      throw CliError.INVALID_FLAG('free', 'cannot be combined with --sats-per-minute', spec.bin)
    if (!free && v['sats-per-minute'] === undefined)
      throw CliError.MISSING_FLAG(
        'sats-per-minute',
        'set your price in sats per minute (or serve explicitly unpaid with --free)'
      )
    let upstream = parseUpstream(v.processor as string)

    let network: NetworkConfig = { bootstrap: v.bootstrap ? parseBootstrap(v.bootstrap as string) : null }
    let nwcUri = v.nwc as string | undefined
    let relays = (v.relays as string[] | undefined) ?? []
    const explicit = (name: string) => flags.sources[name] === 'flag' || flags.sources[name] === 'env'
    if (v.devnet !== undefined) {
      const state = await readRunningState(v.devnet as string)
      if (!v.bootstrap) network = { bootstrap: state.bootstrap }
      if (!explicit('nwc')) nwcUri = state.accounts.provider?.nwcUri
      if (!explicit('relays')) relays = state.relays
      // On the local network the demo WebUI is the natural upstream, wherever it listens.
      if (flags.sources.processor === 'default' && state.webui) upstream = parseUpstream(state.webui)
    }

    let invoicer: Invoicer | null = null
    let wallet: NwcWallet | null = null
    if (!free) {
      const credited = await CreditedPayments.open(creditedPath(identity.path, identity.name))
      if (nwcUri) {
        wallet = await NwcWallet.connect(nwcUri)
        secrets.push(...wallet.secrets())
        for (const s of wallet.secrets()) log.addSecret(s)
        const info = await wallet.info()
        log.info(`wallet ${wallet.displayUri} (${info.alias ?? 'unnamed'}, ${info.network ?? 'network unknown'})`)
        if (!info.methods.includes('make_invoice'))
          throw new CliError(
            'WALLET_CANNOT_INVOICE',
            'this NWC connection may not make_invoice: enable it in your wallet, or use --lightning-address'
          )
        invoicer = nwcInvoicer(wallet, v['invoice-expiry'] as number, credited)
      } else if (v['lightning-address']) {
        invoicer = lightningAddressInvoicer(v['lightning-address'] as string, credited)
        log.warn('receiving through a Lightning address: payments are checked by preimage only (no lookup_invoice)')
      } else {
        throw new CliError(
          'NO_WALLET',
          'no way to get paid: pass --nwc=<nostr+walletconnect URI> or --lightning-address=name@domain (or --devnet for the local wallet), or run explicitly unpaid with --free',
          2
        )
      }
    }

    const manifest = v.skill ? await readManifest(v.skill as string) : defaultManifest(v.name as string, kinds)
    // The swarm key derives from the Nostr key: stable across restarts, so customers can dial it.
    const keyPair = HyperDHT.keyPair(
      createHash('sha256').update('2020117/hyperswarm-key/v1').update(identity.secretKey).digest()
    )
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
      invoicer,
      log
    })

    void probeUpstream(upstream, log)
    log.info(
      `announcing kind ${kinds.join(', ')} on ${network.bootstrap ? 'the DHT at ' + network.bootstrap.map((b) => `${b.host}:${b.port}`).join(',') : 'the public DHT'}…`
    )
    await provider.start()
    watchAnnounces(provider, log)
    const status = provider.status()
    // Persistent: a relay that drops is redialled, and the presence published to it again.
    const pool = relays.length ? new RelayPool(relays, { persistent: true }) : null
    const presence = pool
      ? new Presence({
          pool,
          secretKey: identity.secretKey,
          info: {
            name: v.name as string,
            about: String(manifest.description ?? ''),
            lud16: (v['lightning-address'] as string | undefined) ?? null,
            kinds,
            satsPerMinute: status.satsPerMinute,
            tickSeconds: v['tick-seconds'] as number,
            manifest,
            swarmKey: status.swarmKey
          },
          load: () => {
            const s = provider.status()
            return { capacity: s.capacity, maxSessions: v['max-sessions'] as number, sessions: s.activeSessions }
          },
          log: (m, f) => log.warn(m, f)
        })
      : null
    if (presence) {
      await presence.start()
      log.info(`announced on ${relays.length} relay(s): profile, handler and heartbeat every minute`)
    } else log.warn('no --relays: not announcing on Nostr; customers find this provider on the DHT only')
    log.info(
      `ready: serving ${upstream.origin} as kind ${kinds.join(', ')} at ${free ? 'no charge (--free)' : `${status.satsPerMinute} sats/min, billed every ${v['tick-seconds']} s`}; swarm key ${status.swarmKey}`
    )
    emit({ event: 'ready', software: SOFTWARE, pubkey: e.pubkey, npub: npubOf(e.pubkey), ...status })

    provider.on('session_started', (s: Record<string, unknown>) => emit({ event: 'session_started', ...s }))
    provider.on('session_ended', (s: Record<string, unknown>) => emit({ event: 'session_ended', ...s }))

    await new Promise<void>((resolve) => {
      const stop = async (signal: string) => {
        log.info(`${signal}: ending ${provider.sessions.size} session(s) and leaving the swarm…`)
        await presence?.stop()
        pool?.close()
        await provider.close()
        wallet?.close()
        emit({ event: 'summary', ...provider.status(), sessions: provider.finished })
        log.info(`stopped: ${provider.finished.length} session(s), ${provider.status().msatEarned} msat earned`)
        resolve()
      }
      process.once('SIGINT', () => void stop('SIGINT'))
      process.once('SIGTERM', () => void stop('SIGTERM'))
    })
  },
  { secrets: () => secrets }
)

function parseUpstream(value: string): URL {
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

async function readManifest(path: string): Promise<Record<string, unknown>> {
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
