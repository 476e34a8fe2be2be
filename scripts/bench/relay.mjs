// The relay's figures for `pnpm bench` (issue 14): events per second that 2020117-relay accepts at
// 0 and 10 bits of proof of work, REQ latency with 2k and with 100k stored events, and the time a
// client takes to mine 10 and 20 bits (packages/nostr's worker, nostr-tools' nip13).
//
//   events_per_second  N events published over 8 WebSocket connections at once, each connection's
//                      events sent back to back: first send to the last OK, all OKs true. The 0-bit
//                      events are kind 7000 (free), the 10-bit ones kind 5050 mined beforehand, so
//                      that the figure is the relay's cost of checking work, not of doing it.
//                      Rate limits are raised out of the way; every event is verified, written and
//                      fsync'd (WAL, synchronous=FULL) before its OK, as in production.
//   req_ms             REQ to EOSE on one connection, a mix of the filters the bins send (#e, #p
//                      with since, authors+kinds, ids, kinds+limit), p50/p99 of M REQs, with the
//                      store as the events/s runs left it (2k events) and again with 100k. The
//                      100k are loaded straight into the relay's SQLite file (upsertMany, one
//                      transaction) with real ids and a placeholder signature: signing 100k events
//                      in JS would take minutes, and a REQ never checks stored signatures.
//   mining_ms          mineEvent (a worker thread) for a kind 0 at 10 bits (20 runs) and 20 bits
//                      (3 runs): mean and max; and the worst delay of a 10 ms timer on the main
//                      loop meanwhile, which must stay small: billing ticks run on that loop.
//
// Goals (ratios of figures measured in this run): checking 10 bits costs the relay little
// (events/s at 10 bits ≥ 0.8 × at 0 bits), the indexes hold (REQ p99 at 100k ≤ 4 × at 2k), and
// mining leaves the main loop alone (worst timer delay during a 20-bit mine ≤ 5 × its 10 ms period).

import { randomBytes } from 'node:crypto'
import { WebSocket } from 'ws'
import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey } from 'nostr-tools/pure'
import { minePow } from 'nostr-tools/nip13'
import { fromRoot, percentile, round, stop } from '../lib/harness.mjs'

const RELAY_BIN = fromRoot('apps/relay/dist/bin.js')
const RELAY_LIB = fromRoot('packages/relay/dist/index.js')
const NOSTR_LIB = fromRoot('packages/nostr/dist/index.js')
const EVENTS = 1000
const CONNECTIONS = 8
const REQS = 400
const SEEDED = 100_000
const AUTHORS = 1000
const UNLIMITED = ['--rate-pubkey=100000:100000', '--rate-connection=100000:100000', '--rate-req=100000:100000']

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

/** Publishes every event over `CONNECTIONS` sockets at once; resolves with events per second. */
async function publishAll(url, events) {
  const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => open(url)))
  const pending = new Set(events.map((e) => e.id))
  const refused = []
  const done = new Promise((resolve) => {
    for (const ws of sockets) {
      ws.on('message', (data) => {
        const [type, id, ok, reason] = JSON.parse(String(data))
        if (type !== 'OK' || !pending.delete(id)) return
        if (!ok) refused.push(reason)
        if (pending.size === 0) resolve()
      })
    }
  })
  const started = performance.now()
  events.forEach((event, i) => sockets[i % CONNECTIONS].send(JSON.stringify(['EVENT', event])))
  await done
  const seconds = (performance.now() - started) / 1000
  for (const ws of sockets) ws.close()
  if (refused.length) throw new Error(`the relay refused ${refused.length} events, e.g. ${refused[0]}`)
  return events.length / seconds
}

function freeEvents(keys) {
  return Array.from({ length: EVENTS }, (_, i) =>
    finalizeEvent(
      {
        kind: 7000,
        created_at: Math.floor(Date.now() / 1000),
        content: '',
        tags: [
          ['e', randomHex()],
          ['status', 'processing']
        ]
      },
      keys[i % keys.length]
    )
  )
}

function minedRequests(keys) {
  return Array.from({ length: EVENTS }, (_, i) => {
    const sk = keys[i % keys.length]
    const template = {
      kind: 5050,
      created_at: 0,
      content: '',
      tags: [['i', `job ${i}`, 'text']],
      pubkey: getPublicKey(sk)
    }
    // minePow sets created_at to now and counts the nonce up; finalizeEvent keeps what it mined.
    const { kind, created_at, content, tags } = minePow(template, 10)
    return finalizeEvent({ kind, created_at, content, tags }, sk)
  })
}

const randomHex = () => randomBytes(32).toString('hex')

/** REQ → EOSE latencies on one connection, `REQS` of them over the filter shapes the bins use. */
async function reqLatencies(url, sample) {
  const ws = await open(url)
  const waits = new Map()
  ws.on('message', (data) => {
    const [type, sub] = JSON.parse(String(data))
    if (type === 'EOSE' || type === 'CLOSED') waits.get(sub)?.()
  })
  const now = Math.floor(Date.now() / 1000)
  const filters = [
    (e) => ({ '#e': [e.tags.find((t) => t[0] === 'e')?.[1] ?? e.id], limit: 20 }),
    (e) => ({ kinds: [7000], '#p': [e.pubkey], since: now - 3600, limit: 50 }),
    (e) => ({ authors: [e.pubkey], kinds: [e.kind], limit: 20 }),
    (e) => ({ ids: [e.id] }),
    () => ({ kinds: [5050], limit: 100 })
  ]
  const ms = []
  for (let i = 0; i < REQS; i++) {
    const filter = filters[i % filters.length](sample[i % sample.length])
    const sub = `b${i}`
    const started = performance.now()
    await new Promise((resolve) => {
      waits.set(sub, resolve)
      ws.send(JSON.stringify(['REQ', sub, filter]))
    })
    ms.push(performance.now() - started)
    waits.delete(sub)
    ws.send(JSON.stringify(['CLOSE', sub]))
  }
  ws.close()
  return { p50: round(percentile(ms, 50), 2), p99: round(percentile(ms, 99), 2), n: ms.length }
}

/** 100k events of 1000 authors with the bins' shapes, real ids, placeholder signatures (see top). */
function seedEvents(count) {
  const authors = Array.from({ length: AUTHORS }, randomHex)
  const now = Math.floor(Date.now() / 1000)
  const events = []
  for (let i = 0; i < count; i++) {
    const pubkey = authors[i % AUTHORS]
    const kind = [7000, 7000, 5050, 6050, 1][i % 5]
    const target = events.length ? events[(i * 7919) % events.length].id : randomHex()
    const template = {
      pubkey,
      kind,
      created_at: now - (count - i),
      content: kind === 1 ? `note ${i}` : '',
      tags: [
        ['e', target],
        ['p', authors[(i * 31) % AUTHORS]]
      ]
    }
    events.push({ ...template, id: getEventHash(template), sig: '0'.repeat(128) })
  }
  return events
}

async function mining(mineEvent) {
  const template = (bits) => ({
    kind: 0,
    created_at: Math.floor(Date.now() / 1000),
    content: JSON.stringify({ name: `bench ${bits}` }),
    tags: [],
    pubkey: getPublicKey(generateSecretKey())
  })
  const time = async (bits, runs) => {
    const ms = []
    for (let i = 0; i < runs; i++) {
      const started = performance.now()
      await mineEvent(template(bits), bits, { timeoutMs: 600_000 })
      ms.push(performance.now() - started)
    }
    return { mean: round(ms.reduce((a, b) => a + b, 0) / ms.length, 0), max: round(Math.max(...ms), 0), n: runs }
  }
  const bits10 = await time(10, 20)
  // The main loop during the 20-bit mines: a 10 ms timer, and how late it ever fired.
  let last = performance.now()
  let worst = 0
  const timer = setInterval(() => {
    const at = performance.now()
    worst = Math.max(worst, at - last - 10)
    last = at
  }, 10)
  const bits20 = await time(20, 3)
  clearInterval(timer)
  return { bits_10: bits10, bits_20: bits20, main_loop_worst_delay_ms: round(worst, 1) }
}

export async function relayFigures({ progress, tempDir, spawnNode, waitJson }) {
  const { SqliteEventRepository, MAX_QUERY_LIMIT } = await import(RELAY_LIB)
  const { mineEvent } = await import(NOSTR_LIB)
  const db = `${tempDir('relay-')}/bench.sqlite`
  const start = async () => {
    const relay = spawnNode('relay', RELAY_BIN, [`--db=${db}`, '--port=0', '--json', ...UNLIMITED])
    return { relay, url: (await waitJson(relay, (v) => v.event === 'ready', { ms: 60_000 })).url }
  }
  const keys = Array.from({ length: 20 }, generateSecretKey)

  progress(`relay: signing ${EVENTS} free events and mining ${EVENTS} job requests to 10 bits…`)
  const free = freeEvents(keys)
  const mined = minedRequests(keys)
  let { relay, url } = await start()
  progress(`relay: publishing ${EVENTS} events at 0 bits, then ${EVENTS} at 10 bits, over ${CONNECTIONS} connections…`)
  const bits0 = await publishAll(url, free)
  const bits10 = await publishAll(url, mined)
  progress(`  ${round(bits0, 0)} and ${round(bits10, 0)} events/s`)
  progress(`relay: ${REQS} REQs with ${2 * EVENTS} events stored…`)
  const small = await reqLatencies(url, [...free, ...mined])
  progress(`  p50 ${small.p50} ms, p99 ${small.p99} ms`)
  await stop(relay)

  progress(`relay: loading ${SEEDED} events into its database…`)
  const seeded = seedEvents(SEEDED)
  const repo = new SqliteEventRepository(db, MAX_QUERY_LIMIT)
  const stored = repo.upsertMany(seeded)
  await repo.destroy()
  ;({ relay, url } = await start())
  progress(`relay: ${REQS} REQs with ${stored + 2 * EVENTS} events stored…`)
  const large = await reqLatencies(url, seeded)
  progress(`  p50 ${large.p50} ms, p99 ${large.p99} ms`)
  await stop(relay)

  progress('mining: 10 bits × 20 and 20 bits × 3 in the worker, a timer on the main loop…')
  const mine = await mining(mineEvent)
  progress(
    `  10 bits ${mine.bits_10.mean} ms, 20 bits ${mine.bits_20.mean} ms (worst timer delay ${mine.main_loop_worst_delay_ms} ms)`
  )

  return {
    relay: {
      events_per_second: { bits_0: round(bits0, 0), bits_10: round(bits10, 0), n: EVENTS, connections: CONNECTIONS },
      req_ms: { stored_2k: small, stored_100k: { ...large, stored: stored + 2 * EVENTS } },
      mining_ms: mine
    },
    relay_goals: {
      pow_check_events_ratio_ge_0_8: bits10 / bits0 >= 0.8,
      req_p99_100k_vs_2k_le_4: large.p99 / small.p99 <= 4,
      mining_main_loop_delay_le_5x_period: mine.main_loop_worst_delay_ms <= 50
    }
  }
}
