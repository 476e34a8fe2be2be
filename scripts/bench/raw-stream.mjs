#!/usr/bin/env node
// Raw Hyperswarm stream throughput between two processes, with the product's DHT settings
// (PeerSwarm from packages/swarm/dist). Used by scripts/bench.mjs.
//
//   node raw-stream.mjs receive <bootstrap host:port,...>
//     listens; prints {"event":"ready","publicKey":hex}; counts bytes on the first connection and,
//     after <bytes> bytes, prints {"event":"result","bytes":N,"ms":T,"mb_s":X} and exits.
//   node raw-stream.mjs send <bootstrap> <publicKey hex> <bytes> <chunkBytes>
//     connects and pushes <bytes> bytes in <chunkBytes> writes, honouring backpressure.
//
// Throughput is measured on the receiver: from the first byte to the last, MB = 1e6 bytes.

import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { PeerSwarm, parseBootstrap } from '@2020117/swarm'

const [mode, bootstrap, ...rest] = process.argv.slice(2)
const network = { bootstrap: parseBootstrap(bootstrap) }
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n')
const watchdog = setTimeout(() => {
  process.stderr.write(`raw-stream ${mode}: timed out\n`)
  process.exit(2)
}, 120_000)

if (mode === 'receive') {
  const expected = Number(rest[0])
  const swarm = new PeerSwarm({ network })
  let done = false
  swarm.on('connection', (conn) => {
    if (done) return conn.destroy()
    let bytes = 0
    let first = 0
    let firstLen = 0
    conn.on('data', (chunk) => {
      if (bytes === 0) {
        first = performance.now()
        firstLen = chunk.length
      }
      bytes += chunk.length
      if (bytes >= expected && !done) {
        done = true
        const ms = performance.now() - first
        // Bytes after the first chunk, over the time since it arrived.
        out({ event: 'result', bytes, ms: Math.round(ms), mb_s: (bytes - firstLen) / 1e6 / (ms / 1000) })
        conn.end()
        clearTimeout(watchdog)
        void swarm.destroy(500).then(() => process.exit(0))
      }
    })
  })
  await swarm.swarm.listen()
  out({ event: 'ready', publicKey: Buffer.from(swarm.publicKey).toString('hex') })
} else if (mode === 'send') {
  const [key, total, chunkBytes] = [rest[0], Number(rest[1]), Number(rest[2])]
  const swarm = new PeerSwarm({ network })
  const conn = await swarm.connectTo(Buffer.from(key, 'hex'), 30_000, 'the receiver')
  const chunk = randomBytes(chunkBytes)
  let sent = 0
  while (sent < total) {
    const n = Math.min(chunkBytes, total - sent)
    sent += n
    if (!conn.write(n === chunkBytes ? chunk : chunk.subarray(0, n))) await once(conn, 'drain')
  }
  // The receiver ends the connection once it has counted everything.
  await new Promise((resolve) => {
    conn.once('end', resolve)
    conn.once('close', resolve)
  })
  clearTimeout(watchdog)
  await swarm.destroy(500)
  process.exit(0)
} else {
  process.stderr.write(
    'usage: raw-stream.mjs receive <bootstrap> <bytes> | send <bootstrap> <key> <bytes> <chunkBytes>\n'
  )
  process.exit(2)
}
