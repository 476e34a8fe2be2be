import createTestnet, { type Testnet } from 'hyperdht/testnet.js'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { PeerSwarm, parseBootstrap, SwarmError, type Connection } from '../src/index.js'

let testnet: Testnet
const swarms: PeerSwarm[] = []

beforeAll(async () => {
  testnet = await createTestnet(3, { host: '127.0.0.1' })
})

afterAll(async () => {
  await Promise.all(swarms.map((s) => s.destroy()))
  await testnet.destroy()
})

const make = () => {
  const s = new PeerSwarm({ network: { bootstrap: testnet.bootstrap } })
  swarms.push(s)
  return s
}

function firstConnection(s: PeerSwarm): Promise<Connection> {
  return new Promise((resolve) => s.once('connection', (c: Connection) => resolve(c)))
}

test('a customer finds a provider by kind and by key, over loopback only', async () => {
  const provider = make()
  await provider.announce([5200])
  const customer = make()
  const got = firstConnection(customer)
  customer.lookup(5200)
  const conn = await got
  expect(Buffer.from(conn.remotePublicKey)).toEqual(Buffer.from(provider.publicKey))
  expect(provider.dht.host ?? '127.0.0.1').toBe('127.0.0.1')
  expect(customer.dht.address().host).toBe('127.0.0.1')

  const direct = make()
  const c2 = await direct.connectTo(provider.publicKey, 10_000)
  expect(Buffer.from(c2.remotePublicKey)).toEqual(Buffer.from(provider.publicKey))
})

test('connectTo fails with CONNECT_TIMEOUT for a key nobody holds', async () => {
  const lonely = make()
  await expect(lonely.connectTo(new Uint8Array(32).fill(9), 1500)).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' })
})

test('bootstrap lists parse and bad ones are refused', () => {
  expect(parseBootstrap('127.0.0.1:20117, example.org:49737')).toEqual([
    { host: '127.0.0.1', port: 20117 },
    { host: 'example.org', port: 49737 }
  ])
  expect(parseBootstrap('[::1]:1')).toEqual([{ host: '::1', port: 1 }])
  for (const bad of ['', 'host', 'host:0', 'host:70000', ':1']) expect(() => parseBootstrap(bad)).toThrow(SwarmError)
})
