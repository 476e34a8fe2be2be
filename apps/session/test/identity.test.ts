// Nostr identity end to end, with the real bins on the local network: the keys file, presence on
// the relay, --list, --provider by npub among several providers, an impostor, and a keys file
// edited by hand.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, test } from 'vitest'
import { SimplePool, useWebSocketImplementation } from 'nostr-tools/pool'
import { WebSocket } from 'ws'
import { killAll, spawnBin, startTestNetwork } from '@2020117/testkit'
import { startFakeProvider } from './helpers/fake-provider.js'

useWebSocketImplementation(WebSocket)

const network = await startTestNetwork({ teardown: afterAll })
let dir: string

afterEach(async () => {
  await killAll()
  if (dir) await rm(dir, { recursive: true, force: true })
})

async function relayEvents(filter: Record<string, unknown>) {
  const pool = new SimplePool()
  try {
    return await pool.querySync(network.devnet.state.relays, filter as never, { maxWait: 3000 })
  } finally {
    pool.close(network.devnet.state.relays)
  }
}

async function agentIn(keysFile: string, name: string, extra: string[] = []) {
  const agent = spawnBin('agent', [
    network.flag,
    `--keys-file=${keysFile}`,
    `--agent=${name}`,
    '--sats-per-minute=7',
    '--tick-seconds=2',
    '--max-sessions=3',
    `--name=${name}`,
    '--json',
    ...extra
  ])
  const ready = await agent.json<{ event: string; swarm_key: string; npub: string; pubkey: string }>(
    (e) => e.event === 'ready'
  )
  return { agent, ready }
}

test('a new agent creates its keys file 0600, announces kinds 0, 31990 and 30333, and says offline on shutdown', async () => {
  dir = await mkdtemp(join(tmpdir(), '2020117-id-'))
  const keysFile = join(dir, '.2020117_keys')
  const { agent, ready } = await agentIn(keysFile, 'gpu-one', ['--pow-timeout=140'])
  expect((await stat(keysFile)).mode & 0o777).toBe(0o600)
  const keys = JSON.parse(await readFile(keysFile, 'utf8'))
  expect(keys['gpu-one'].pubkey).toBe(ready.pubkey)
  expect(keys['gpu-one'].privkey).toMatch(/^[0-9a-f]{64}$/)
  expect(agent.stderr()).not.toContain(keys['gpu-one'].privkey)

  await agent.line(/announced on 1 relay/)
  // The profile is mined (20 bits under the relay's default policy) beside the heartbeats.
  await agent.line(/profile \(kind 0\) published on 1 relay/)
  const [profile] = await relayEvents({ kinds: [0], authors: [ready.pubkey] })
  expect(JSON.parse(profile!.content)).toMatchObject({ name: 'gpu-one' })
  const [handler] = await relayEvents({ kinds: [31990], authors: [ready.pubkey] })
  expect(handler!.tags).toEqual(
    expect.arrayContaining([
      ['k', '5200'],
      ['hyperswarm', ready.swarm_key]
    ])
  )
  expect(JSON.parse(handler!.content)).toMatchObject({
    prices: { '5200': 7 },
    hyperswarm: ready.swarm_key,
    manifest: { name: 'gpu-one' }
  })
  const [beat] = await relayEvents({ kinds: [30333], authors: [ready.pubkey] })
  expect(beat!.tags).toEqual(
    expect.arrayContaining([
      ['status', 'online'],
      ['capacity', '3'],
      ['price', '5200', '7'],
      ['sessions', '0'],
      ['hyperswarm', ready.swarm_key]
    ])
  )
  // One case for every JSON a bin writes (README, "JSON output"): the --json lines and the heartbeat.
  const notSnake = (o: object) => Object.keys(o).filter((k) => !/^[a-z0-9_]+$/.test(k))
  expect(notSnake(ready)).toEqual([])
  expect(notSnake(JSON.parse(beat!.content))).toEqual([])

  agent.kill('SIGINT')
  expect(await agent.exited).toBe(0)
  const beats = (await relayEvents({ kinds: [30333], authors: [ready.pubkey] })).sort(
    (a, b) => b.created_at - a.created_at
  )
  expect(beats[0]!.tags).toEqual(expect.arrayContaining([['status', 'offline']]))
}, 150_000) // mining the profile: 20 bits, seconds to a minute on a loaded machine

test('--list --json shows a running provider, and --provider=<npub> reaches it among others on the same topic', async () => {
  dir = await mkdtemp(join(tmpdir(), '2020117-id-'))
  const keysFile = join(dir, '.2020117_keys')
  // The cheaper one would be chosen without --provider.
  const cheap = spawnBin('agent', [
    network.flag,
    `--keys-file=${keysFile}`,
    '--agent=cheaper',
    '--sats-per-minute=1',
    '--tick-seconds=2',
    '--json'
  ])
  await cheap.json((e: { event?: string }) => e.event === 'ready')
  const { ready: wanted } = await agentIn(keysFile, 'wanted')
  await Promise.all([cheap.line(/announced on/)])

  const list = spawnBin('session', [network.flag, '--list', '--json', `--keys-file=${keysFile}`])
  const listed = await list.json<{
    providers: Array<{ npub: string; sats_per_minute: number; capacity: number; reachable: boolean; name: string }>
  }>((v) => 'providers' in v)
  const row = listed.providers.find((p) => p.npub === wanted.npub)
  expect(row).toMatchObject({ name: 'wanted', sats_per_minute: 7, capacity: 3, reachable: true })
  expect(await list.exited).toBe(0)

  const session = spawnBin('session', [
    network.flag,
    '--budget=100',
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--provider=${wanted.npub}`
  ])
  await session.line(/tunnel open/)
  session.kill('SIGINT')
  const summary = await session.json<{ provider: string; sats_per_minute: number; reason: string }>(
    (s) => 'reason' in s
  )
  expect(summary).toMatchObject({ provider: wanted.swarm_key, sats_per_minute: 7, reason: 'CUSTOMER_QUIT' })
})

test("an impostor that claims another provider's npub but cannot sign for it is refused, and nothing is paid", async () => {
  dir = await mkdtemp(join(tmpdir(), '2020117-id-'))
  const keysFile = join(dir, '.2020117_keys')
  const { ready: victim } = await agentIn(keysFile, 'victim')
  // The impostor has the victim's genuine binding (anyone can record it) and replays it.
  let sessionsStarted = 0
  const fake = await startFakeProvider(network, {
    kind: 5200,
    satsPerMinute: 1,
    scenario: async () => void sessionsStarted++
  })
  try {
    const before = network.balanceMsat('customer')
    for (const identity of ['replayed', 'forged'] as const) {
      fake.identity =
        identity === 'replayed' ? await victimBinding(victim.swarm_key) : forgedBinding(victim.pubkey, fake.swarmKey)
      const session = spawnBin('session', [
        network.flag,
        '--budget=100',
        '--port=0',
        '--yes',
        '--no-repl',
        '--json',
        `--provider=${victim.npub}`,
        `--swarm-key=${fake.swarmKey}`
      ])
      const out = await session.json<{ ok: boolean; error: { code: string } }>((v) => 'error' in v)
      expect(out.error.code).toBe(identity === 'replayed' ? 'IDENTITY_MISMATCH' : 'IDENTITY_INVALID')
      expect(await session.exited).not.toBe(0)
    }
    expect(network.balanceMsat('customer')).toBe(before)
    expect(sessionsStarted).toBe(0)
  } finally {
    await fake.close()
  }
})

test('a second agent entry added by hand survives a run of the first', async () => {
  dir = await mkdtemp(join(tmpdir(), '2020117-id-'))
  const keysFile = join(dir, '.2020117_keys')
  const first = await agentIn(keysFile, 'first')
  first.agent.kill('SIGINT')
  await first.agent.exited
  const keys = JSON.parse(await readFile(keysFile, 'utf8'))
  keys.second = { privkey: 'a'.repeat(64), pubkey: '', nwc_uri: 'nostr+walletconnect://x', note: 'added by hand' }
  await writeFile(keysFile, JSON.stringify(keys, null, 2))

  const again = await agentIn(keysFile, 'first')
  expect(again.ready.pubkey).toBe(first.ready.pubkey)
  const third = await agentIn(keysFile, 'third')
  third.agent.kill('SIGINT')
  await third.agent.exited
  const after = JSON.parse(await readFile(keysFile, 'utf8'))
  expect(after.second).toEqual(keys.second)
  expect(after.first.privkey).toBe(keys.first.privkey)
  expect(after.third.pubkey).toBe(third.ready.pubkey)
})

async function victimBinding(victimSwarmKey: string): Promise<string> {
  // Ask the victim for its skill like any customer would, and keep its identity proof.
  const { PeerSwarm } = await import('@2020117/swarm')
  const { SessionChannel } = await import('@2020117/protocol')
  const swarm = new PeerSwarm({ network: { bootstrap: network.devnet.state.bootstrap } })
  try {
    const conn = await swarm.connectTo(Buffer.from(victimSwarmKey, 'hex'), 15_000)
    const ch = new SessionChannel(conn, { role: 'customer', software: 'recorder' })
    await ch.opened()
    const answer = new Promise<string>((resolve) => ch.once('skill_response', (m) => resolve(m.identity as string)))
    ch.send({ type: 'skill_request', kind: 5200 })
    return await answer
  } finally {
    await swarm.destroy(100)
  }
}

function forgedBinding(victimPubkey: string, swarmKey: string): string {
  return JSON.stringify({
    id: 'f'.repeat(64),
    pubkey: victimPubkey,
    created_at: Math.floor(Date.now() / 1000),
    kind: 20117,
    tags: [['hyperswarm', swarmKey]],
    content: '',
    sig: 'e'.repeat(128)
  })
}
