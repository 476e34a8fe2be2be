// Which DHT to use. `bootstrap: null` is the public Hyperswarm network; a list is a private one,
// such as the local devnet. A DHT whose bootstrap nodes are all on loopback binds 127.0.0.1 and
// runs unfirewalled: left on 0.0.0.0 it would advertise a non-loopback address that the other
// local peers cannot reach (see shared NOTES), and a firewalled server in another process is not
// reliably reachable on a one-machine network.

import HyperDHT, { type KeyPair } from 'hyperdht'
import { SwarmError } from './errors.js'

export interface BootstrapNode {
  host: string
  port: number
}

export interface NetworkConfig {
  bootstrap: BootstrapNode[] | null
}

export function parseBootstrap(value: string): BootstrapNode[] {
  const nodes = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^(\[[0-9a-f:]+\]|[^:\s]+):(\d{1,5})$/i.exec(entry)
      const port = m ? Number(m[2]) : NaN
      if (!m || port < 1 || port > 65535) throw SwarmError.INVALID_BOOTSTRAP(value)
      return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port }
    })
  if (nodes.length === 0) throw SwarmError.INVALID_BOOTSTRAP(value)
  return nodes
}

export function isLoopbackNetwork(network: NetworkConfig): boolean {
  return (
    network.bootstrap !== null &&
    network.bootstrap.every((n) => n.host === '127.0.0.1' || n.host === 'localhost' || n.host === '::1')
  )
}

export function createDHT(network: NetworkConfig, keyPair?: KeyPair): HyperDHT {
  const opts: Record<string, unknown> = {}
  if (keyPair) opts.keyPair = keyPair
  if (network.bootstrap !== null) opts.bootstrap = network.bootstrap
  if (isLoopbackNetwork(network)) {
    opts.host = '127.0.0.1'
    opts.firewalled = false
  }
  return new HyperDHT(opts)
}
