// A Hyperswarm with the habits 2020117 needs: every connection gets an error handler (an unhandled
// ECONNRESET at teardown would kill the process), providers announce before anyone looks them up,
// and customers can wait for the first providers of a kind or dial one provider by its key. A
// provider stays findable: its announces are checked and renewed when the DHT loses them (keeper.ts).

import { EventEmitter } from 'node:events'
import b4a from 'b4a'
import HyperDHT, { type KeyPair } from 'hyperdht'
import Hyperswarm, { type PeerInfo } from 'hyperswarm'
import { kindTopic } from '@2020117/protocol'
import { SwarmError } from './errors.js'
import { AnnounceKeeper } from './keeper.js'
import { createDHT, isLoopbackNetwork, type NetworkConfig } from './network.js'

/** The encrypted connection Hyperswarm hands us (a @hyperswarm/secret-stream). */
export interface Connection extends EventEmitter {
  remotePublicKey: Uint8Array
  publicKey: Uint8Array
  destroyed: boolean
  rawStream?: { remoteHost?: string }
  setKeepAlive?(ms: number): void
  setTimeout?(ms: number): void
  write(data: Uint8Array): boolean
  end(): void
  destroy(err?: Error): void
}

export interface PeerSwarmOptions {
  network: NetworkConfig
  keyPair?: KeyPair
  /** Cap on simultaneous connections (providers serve many customers). */
  maxPeers?: number
  /** Dead-link detection on every connection, in ms. */
  keepAliveMs?: number
  /**
   * How often a provider checks that the DHT still holds its announces, in ms. Default 2 s on a
   * loopback network (a check costs a few ms there), 60 s elsewhere.
   */
  recheckMs?: number
}

export interface PeerSwarm {
  on(event: 'connection', listener: (conn: Connection, info: PeerInfo) => void): this
  /** The DHT no longer holds some announce customers need (e.g. ['kind 5200', 'swarm key']); it is being renewed. */
  on(event: 'announce-lost', listener: (missing: string[]) => void): this
  /** Every announce is back on the DHT after a loss. */
  on(event: 'announce-restored', listener: () => void): this
}

export class PeerSwarm extends EventEmitter {
  readonly swarm: Hyperswarm
  readonly dht: HyperDHT
  private readonly keepAliveMs: number
  private readonly keeper: AnnounceKeeper

  constructor(opts: PeerSwarmOptions) {
    super()
    this.keepAliveMs = opts.keepAliveMs ?? 5000
    this.dht = createDHT(opts.network, opts.keyPair)
    this.swarm = new Hyperswarm({
      dht: this.dht,
      keyPair: opts.keyPair ?? this.dht.defaultKeyPair,
      maxPeers: opts.maxPeers ?? 256
    })
    this.keeper = new AnnounceKeeper(this.swarm, opts.recheckMs ?? (isLoopbackNetwork(opts.network) ? 2000 : 60_000))
    this.keeper.on('lost', (missing) => this.emit('announce-lost', missing))
    this.keeper.on('restored', () => this.emit('announce-restored'))
    // Hyperswarm renews topics on these itself, but not always the server's own key: check both.
    this.dht.on('network-change', () => this.keeper.nudge())
    this.dht.on('network-update', () => this.keeper.nudge())
    this.swarm.on('connection', (conn: Connection, info: PeerInfo) => {
      conn.on('error', () => {})
      // Keepalives every keepAliveMs, and a link silent for three of them is dead: both sides
      // notice a drop within a bounded time (and the customer resumes).
      conn.setKeepAlive?.(this.keepAliveMs)
      conn.setTimeout?.(this.keepAliveMs * 3)
      this.emit('connection', conn, info)
    })
  }

  get publicKey(): Uint8Array {
    return this.swarm.keyPair.publicKey
  }

  /** Announces this peer as a provider of the kinds; resolves once the DHT holds the announces. */
  async announce(kinds: number[]): Promise<void> {
    await Promise.all(
      kinds.map((k) => {
        const discovery = this.swarm.join(kindTopic(k), { server: true, client: false })
        this.keeper.track(`kind ${k}`, kindTopic(k), discovery)
        return discovery.flushed()
      })
    )
  }

  /** Starts looking up providers of a kind; connections arrive as 'connection' events. */
  lookup(kind: number): void {
    this.swarm.join(kindTopic(kind), { server: false, client: true })
  }

  /** Dials one peer by its public key; Hyperswarm keeps retrying with backoff until it connects. */
  dial(publicKey: Uint8Array): void {
    this.swarm.joinPeer(publicKey)
  }

  /** Resolves with the first connection to `publicKey` (existing or new), or fails after `ms`. */
  connectTo(publicKey: Uint8Array, ms: number, label = 'the provider'): Promise<Connection> {
    for (const conn of this.swarm.connections as Set<Connection>) {
      if (b4a.equals(conn.remotePublicKey, publicKey) && !conn.destroyed) return Promise.resolve(conn)
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('connection', onconn)
        reject(SwarmError.CONNECT_TIMEOUT(label, Math.round(ms / 1000)))
      }, ms)
      const onconn = (conn: Connection) => {
        if (!b4a.equals(conn.remotePublicKey, publicKey)) return
        clearTimeout(timer)
        this.off('connection', onconn)
        resolve(conn)
      }
      this.on('connection', onconn)
      this.dial(publicKey)
    })
  }

  get connections(): Set<Connection> {
    return this.swarm.connections as Set<Connection>
  }

  /**
   * Leaves the swarm. Connections are ended, not destroyed, so that frames already written (a
   * session_end, say) reach the peer; one that does not close within `graceMs` is destroyed.
   */
  async destroy(graceMs = 2000): Promise<void> {
    this.keeper.stop()
    await Promise.all(
      [...this.connections].map(
        (conn) =>
          new Promise<void>((resolve) => {
            if (conn.destroyed) return resolve()
            const timer = setTimeout(() => conn.destroy(), graceMs)
            conn.once('close', () => {
              clearTimeout(timer)
              resolve()
            })
            conn.end()
          })
      )
    )
    await this.swarm.destroy()
  }
}
