// The whole local network in one process: HyperDHT bootstrap nodes, a Nostr relay, a NIP-47
// wallet, the demo WebUI, a Blossom blob server and a Lightning-address server that takes zaps, all on 127.0.0.1. The same agent and session code runs against it
// and against the public DHT, public relays and a real wallet; only the addresses differ. The
// DHT, the relay and the wallet can be stopped and started again on the same ports with the same
// state, so that tests can put a network outage under running bins.

import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import createTestnet, { type Testnet } from 'hyperdht/testnet.js'
import { readBalances, startWallet, type DevWallet } from '@2020117/devwallet'
import { startWebUI, type RunningWebUI } from '@2020117/webui'
import { startBlossomServer, type RunningBlossomServer } from '@2020117/blossom-server'
import { startLnurlServer, type RunningLnurlServer } from '@2020117/lnurl-server'
import { DevnetError } from './errors.js'
import { spawnRelay, type RelayPolicyFlags, type SpawnedRelay } from './relay.js'
import { writeState, type DevnetState } from './state.js'

export const DEFAULT_DHT_PORT = 20117
export const DEFAULT_RELAY_PORT = 20118
export const DEFAULT_WEBUI_PORT = 7860
/** The bin's default; startDevnet itself defaults to 0 (see DevnetOptions.blossomPort). */
export const DEFAULT_BLOSSOM_PORT = 20119
/** The bin's default; startDevnet itself defaults to 0 (see DevnetOptions.lnurlPort). */
export const DEFAULT_LNURL_PORT = 20120
const HOST = '127.0.0.1'
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/

export interface DevnetOptions {
  dir: string
  /** 0 picks free ports (tests); the defaults are fixed so that addresses survive restarts. */
  dhtPort?: number
  relayPort?: number
  webuiPort?: number
  /** Set false to run without the demo WebUI. */
  webui?: boolean
  /** Pause between demo progress steps. */
  webuiStepDelayMs?: number
  /**
   * The Blossom server's port. Default 0 (any free port), unlike the others, so that callers
   * written before it existed never collide on a fixed one; 2020117-devnet passes 20119.
   */
  blossomPort?: number
  /** Set false to run without the Blossom server. */
  blossom?: boolean
  /** The Lightning-address (LNURL-pay, NIP-57 zaps) server's port. Default 0, as for Blossom; the bin passes 20120. */
  lnurlPort?: number
  /** Set false to run without the Lightning-address server. */
  lnurl?: boolean
  /** What the relay enforces beyond its defaults (AIP-0005: the kind whitelist and per-kind proof of work). */
  relayPolicy?: RelayPolicyFlags
  log?: (line: string) => void
}

/**
 * The parts of the network an outage can take down; the demo WebUI, Blossom, the Lightning-address
 * server and the control endpoint stay.
 */
export type NetworkPart = 'dht' | 'relay' | 'wallet'
export const NETWORK_PARTS: readonly NetworkPart[] = Object.freeze(['dht', 'relay', 'wallet'])

export interface Devnet {
  dir: string
  state: DevnetState
  /** The current instances: a part stopped and started again is a new object. */
  readonly testnet: Testnet
  readonly relay: SpawnedRelay
  readonly wallet: DevWallet
  webui: RunningWebUI | null
  blossom: RunningBlossomServer | null
  lnurl: RunningLnurlServer | null
  /**
   * Stops parts of the network, as an outage would (all three when none is named). Their state
   * stays on disk (relay events, ledger) and their ports stay reserved for start().
   */
  stop(...parts: NetworkPart[]): Promise<void>
  /** Starts stopped parts again on the same ports and with the same state. */
  start(...parts: NetworkPart[]): Promise<void>
  close(): Promise<void>
}

/**
 * The DHT bootstrap nodes, the relay and the wallet, each of which can be stopped and started
 * again on its first port. The wallet talks through the relay: it stops first and starts last.
 */
class Parts {
  testnet!: Testnet
  relay!: SpawnedRelay
  wallet!: DevWallet
  /** Told of every wallet started, the first and each one after an outage. */
  onWallet: (wallet: DevWallet) => void = () => {}
  private readonly running = new Set<NetworkPart>()

  constructor(
    private readonly dir: string,
    private dhtPort: number,
    private relayPort: number,
    private readonly relayPolicy: RelayPolicyFlags,
    private readonly log: (line: string) => void
  ) {}

  async start(parts: readonly NetworkPart[]): Promise<void> {
    for (const part of NETWORK_PARTS) {
      if (!parts.includes(part) || this.running.has(part)) continue
      await this[part === 'dht' ? 'startDht' : part === 'relay' ? 'startRelay' : 'startWallet']()
      this.running.add(part)
    }
  }

  async stop(parts: readonly NetworkPart[]): Promise<void> {
    for (const part of [...NETWORK_PARTS].reverse()) {
      if (!parts.includes(part) || !this.running.has(part)) continue
      this.running.delete(part)
      await (part === 'dht' ? this.testnet.destroy() : part === 'relay' ? this.relay.close() : this.wallet.close())
      this.log(`${part.padEnd(8)} stopped`)
    }
  }

  private async startDht(): Promise<void> {
    // Port 0 would give the hyperdht default (49737, or the next free one), which every other DHT
    // node on the machine also tries first: one of them could take it while the DHT is stopped.
    if (this.dhtPort === 0) this.dhtPort = await freeUdpPort()
    const port = this.dhtPort
    const testnet = await guardPort('DHT', port, '--dht-port', () => createTestnet(3, { host: HOST, port }))
    // HyperDHT quietly moves to another port when the one asked for is taken; a fixed port that
    // moved would break every state file and URI that names it.
    if (port !== 0 && testnet.bootstrap[0]?.port !== port) {
      await testnet.destroy()
      throw DevnetError.PORT_IN_USE('DHT', port, '--dht-port')
    }
    this.testnet = testnet
    this.dhtPort = testnet.bootstrap[0]?.port ?? port
    this.log(`dht      bootstrap ${testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')} (3 nodes)`)
  }

  private async startRelay(): Promise<void> {
    const port = this.relayPort
    const dir = join(this.dir, 'relay')
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const db = join(dir, 'events.sqlite')
    this.relay = await spawnRelay({ host: HOST, port, db, policy: this.relayPolicy, log: this.log })
    this.relayPort = this.relay.port
    this.log(`relay    ${this.relay.url}`)
  }

  private async startWallet(): Promise<void> {
    this.wallet = await startWallet({ relayUrl: this.relay.url, dir: join(this.dir, 'wallet') })
    this.wallet.on('payment', () => {}) // keep the emitter quiet when nobody listens
    this.onWallet(this.wallet)
    this.log(`wallet   regtest node ${this.wallet.nodePubkey}`)
  }
}

export async function startDevnet(opts: DevnetOptions): Promise<Devnet> {
  const dir = resolve(opts.dir)
  const log = opts.log ?? (() => {})
  const stack: Array<() => Promise<void>> = []
  const unwind = async () => {
    for (const close of stack.reverse()) await close().catch(() => {})
  }

  try {
    const net = new Parts(
      dir,
      opts.dhtPort ?? DEFAULT_DHT_PORT,
      opts.relayPort ?? DEFAULT_RELAY_PORT,
      opts.relayPolicy ?? {},
      log
    )
    stack.push(() => net.stop(NETWORK_PARTS))
    await net.start(NETWORK_PARTS)
    const webui = opts.webui === false ? null : await startDemoWebUI(opts, log)
    if (webui) stack.push(() => webui.close())
    const blossom = opts.blossom === false ? null : await startBlossom(dir, opts.blossomPort ?? 0, log)
    if (blossom) stack.push(() => blossom.close())
    const lnurl = opts.lnurl === false ? null : await startLnurl(dir, net, opts.lnurlPort ?? 0, log)
    if (lnurl) stack.push(() => lnurl.close())
    const token = randomBytes(24).toString('hex')
    const control = await startControl(() => net.wallet, dir, token)
    stack.push(() => new Promise<void>((r) => control.close(() => r())))

    const state: DevnetState = {
      version: 2,
      pid: process.pid,
      started_at: new Date().toISOString(),
      network: 'regtest',
      bootstrap: net.testnet.bootstrap.map((b) => ({ host: b.host, port: b.port })),
      relays: [net.relay.url],
      webui: webui?.url ?? null,
      blossom: blossom?.url ?? null,
      lnurl: lnurl ? { url: lnurl.url, nostr_pubkey: lnurl.nostrPubkey } : null,
      control: { url: `http://${HOST}:${(control.address() as { port: number }).port}`, token },
      accounts: Object.fromEntries(
        net.wallet
          .accounts()
          .map((a) => [a.name, { nwc_uri: a.nwcUri, ...(lnurl ? { lud16: lnurl.lud16(a.name) } : {}) }])
      )
    }
    await writeState(dir, state)
    return handle(dir, state, net, { webui, blossom, lnurl }, unwind)
  } catch (err) {
    await unwind()
    throw err
  }
}

function handle(
  dir: string,
  state: DevnetState,
  net: Parts,
  servers: { webui: RunningWebUI | null; blossom: RunningBlossomServer | null; lnurl: RunningLnurlServer | null },
  unwind: () => Promise<void>
): Devnet {
  let closing: Promise<void> | null = null
  return {
    dir,
    state,
    get testnet() {
      return net.testnet
    },
    get relay() {
      return net.relay
    },
    get wallet() {
      return net.wallet
    },
    ...servers,
    stop: (...parts) => net.stop(parts.length ? parts : NETWORK_PARTS),
    start: (...parts) => net.start(parts.length ? parts : NETWORK_PARTS),
    close() {
      closing ??= (async () => {
        await unwind()
        await writeState(dir, { ...state, pid: null, control: null }).catch(() => {})
      })()
      return closing
    }
  }
}

async function startDemoWebUI(opts: DevnetOptions, log: (line: string) => void): Promise<RunningWebUI> {
  const port = opts.webuiPort ?? DEFAULT_WEBUI_PORT
  const stepDelay = opts.webuiStepDelayMs !== undefined ? { stepDelayMs: opts.webuiStepDelayMs } : {}
  const ui = await guardPort('demo WebUI', port, '--webui-port', () => startWebUI({ host: HOST, port, ...stepDelay }))
  log(`webui    ${ui.url}`)
  return ui
}

async function startBlossom(dir: string, port: number, log: (line: string) => void): Promise<RunningBlossomServer> {
  const blossom = await guardPort('Blossom', port, '--blossom-port', () =>
    startBlossomServer({ host: HOST, port, dir: join(dir, 'blossom') })
  )
  log(`blossom  ${blossom.url}`)
  return blossom
}

/** Zap receipts are signed by a key kept in `dir/lnurl`, so a restarted devnet advertises the same one. */
async function startLnurl(
  dir: string,
  net: Parts,
  port: number,
  log: (line: string) => void
): Promise<RunningLnurlServer> {
  const lnurl = await guardPort('Lightning-address', port, '--lnurl-port', () =>
    startLnurlServer({ host: HOST, port, dir: join(dir, 'lnurl'), relayUrl: net.relay.url, wallet: net.wallet, log })
  )
  net.onWallet = (wallet) => lnurl.attach(wallet)
  log(`lnurl    ${lnurl.url}/.well-known/lnurlp/<account> (zap receipts by ${lnurl.nostrPubkey})`)
  return lnurl
}

/** A UDP port the OS has just handed out on loopback, so no one else is likely to ask for it next. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, HOST, () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}

async function guardPort<T>(what: string, port: number, flag: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }
    if (e.code === 'EADDRINUSE' || e.cause?.code === 'EADDRINUSE') throw DevnetError.PORT_IN_USE(what, port, flag)
    throw err
  }
}

/**
 * A loopback HTTP endpoint through which `2020117-devnet account create` reaches the running
 * wallet. The bearer token in the 0600 state file keeps other local users out.
 */
function startControl(current: () => DevWallet, dir: string, token: string): Promise<Server> {
  const expected = Buffer.from(`Bearer ${token}`)
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    const auth = Buffer.from(req.headers.authorization ?? '')
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected))
      return send(401, { error: { code: 'UNAUTHORIZED', message: 'bad token' } })
    const wallet = current()
    try {
      if (req.method === 'GET' && req.url === '/balances')
        return send(200, { accounts: await readBalances(join(dir, 'wallet')) })
      if (req.method === 'POST' && req.url === '/accounts') {
        const body = JSON.parse(await readBody(req, 4096)) as {
          name?: unknown
          fundSats?: unknown
          budgetSats?: unknown
        }
        const name = String(body.name ?? '')
        if (!ACCOUNT_NAME.test(name)) throw DevnetError.INVALID_ACCOUNT(name)
        if (wallet.accounts().some((a) => a.name === name)) throw DevnetError.ACCOUNT_EXISTS(name)
        const account = await wallet.createAccount(name, {
          fundSats: Number(body.fundSats ?? 0),
          budgetSats: body.budgetSats == null ? null : Number(body.budgetSats)
        })
        return send(200, { account: { name: account.name, balanceMsat: account.balanceMsat, nwcUri: account.nwcUri } })
      }
      send(404, { error: { code: 'NOT_FOUND', message: `${req.method} ${req.url}` } })
    } catch (err) {
      const e = err as { code?: string; message?: string }
      send(400, { error: { code: e.code ?? 'BAD_REQUEST', message: e.message ?? String(err) } })
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, HOST, () => resolve(server))
  })
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > max) {
        reject(new Error(`body over ${max} bytes`))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}
