#!/usr/bin/env node
// The bench's reference tunnel: the thinnest TCP -> HyperDHT stream -> TCP pipe, shaped like
// hypertele (and holesail, which adds no work per byte): every local TCP connection gets a DHT
// connection of its own, bytes are piped both ways, nothing is parsed, nothing is paid. It uses the
// product's DHT settings (createDHT from packages/swarm/dist), so both tunnels cross the same
// local network. Used by scripts/bench.mjs.
//
//   node ref-tunnel.mjs server <bootstrap host:port,...> <upstream host:port>
//     prints {"event":"ready","publicKey":hex}; pipes each incoming DHT connection to the upstream.
//   node ref-tunnel.mjs client <bootstrap> <publicKey hex>
//     listens on 127.0.0.1; prints {"event":"ready","port":N}; pipes each local connection to the server.
//
// Local sockets run without Nagle, as the product's do, so that the comparison is about the tunnel.

import net from 'node:net'
import { createDHT, parseBootstrap } from '@2020117/swarm'

const [mode, bootstrap, target] = process.argv.slice(2)
const dht = createDHT({ bootstrap: parseBootstrap(bootstrap) })
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n')

/**
 * Pipes a and b both ways with backpressure, ends as ends (half-close); a side that fails or is cut
 * before its end cuts the other. By hand, not pipe(): a HyperDHT stream is a streamx stream, whose
 * pipe() destroys the source when its destination closes first (an upstream that answers and
 * closes would cut the response still on its way).
 */
function join(a, b) {
  for (const [x, y] of [
    [a, b],
    [b, a]
  ]) {
    x.on('data', (chunk) => {
      if (y.destroyed || y.write(chunk)) return
      x.pause()
      y.once('drain', () => x.resume())
    })
    x.on('end', () => y.end())
    x.on('error', () => y.destroy())
    x.on('close', () => {
      if (!x.readableEnded && !x._readableState?.ended) y.destroy()
    })
  }
}

if (mode === 'server') {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))]
  const keyPair = dht.constructor.keyPair() // HyperDHT.keyPair, without a dependency of our own
  const server = dht.createServer((conn) => {
    const upstream = net.connect({ host, port, noDelay: true })
    join(conn, upstream)
  })
  await server.listen(keyPair)
  out({ event: 'ready', publicKey: Buffer.from(keyPair.publicKey).toString('hex') })
} else if (mode === 'client') {
  const publicKey = Buffer.from(target, 'hex')
  const server = net.createServer({ noDelay: true }, (sock) => join(sock, dht.connect(publicKey)))
  server.listen(0, '127.0.0.1', () => out({ event: 'ready', port: server.address().port }))
} else {
  process.stderr.write('usage: ref-tunnel.mjs server <bootstrap> <host:port> | client <bootstrap> <publicKey>\n')
  process.exit(2)
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0))
