// A provider stays findable when the DHT restarts under it: the bootstrap nodes come back on the
// same address with empty storage, the provider's node still thinks it is online, and without the
// keeper neither its topic nor its own key is announced again for 5-10 minutes.

import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import createTestnet, { type Testnet } from 'hyperdht/testnet.js'
import { afterEach, expect, test } from 'vitest'
import { PeerSwarm, type Connection } from '../src/index.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.()
})

async function testnetOn(port: number): Promise<Testnet> {
  const t = await createTestnet(3, { host: '127.0.0.1', port })
  cleanups.push(() => t.destroy())
  return t
}

/** Port 0 would give hyperdht's default, which other DHT nodes on the machine may take while ours is down. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(() => resolve()))
  return port
}

function swarm(bootstrap: Testnet['bootstrap']): PeerSwarm {
  const s = new PeerSwarm({ network: { bootstrap } })
  cleanups.push(() => s.destroy(100))
  return s
}

test(
  'after the DHT restarts on the same address, the provider announces again and a new customer finds it by kind and by key',
  { timeout: 60_000 },
  async () => {
    const first = await testnetOn(await freeUdpPort())
    const bootstrap = first.bootstrap.map((b) => ({ ...b }))
    const provider = swarm(bootstrap)
    await provider.announce([5200])
    const lost = once(provider, 'announce-lost') as Promise<[string[]]>

    await first.destroy()
    const [missing] = await lost
    expect(missing).toEqual(expect.arrayContaining(['kind 5200', 'swarm key']))
    await testnetOn(bootstrap[0]!.port)
    await once(provider, 'announce-restored')

    const byKind = swarm(bootstrap)
    const found = once(byKind, 'connection') as Promise<[Connection]>
    byKind.lookup(5200)
    const [conn] = await found
    expect(Buffer.from(conn.remotePublicKey)).toEqual(Buffer.from(provider.publicKey))
    const byKey = swarm(bootstrap)
    const direct = await byKey.connectTo(provider.publicKey, 10_000)
    expect(Buffer.from(direct.remotePublicKey)).toEqual(Buffer.from(provider.publicKey))
  }
)
