#!/usr/bin/env node
// Fuzzes a live 2020117-agent over its real session channel while an honest customer session runs
// against the same agent, then checks that the agent is still alive and the honest session still
// works. Uses the built code (run `npx tsc -b` first): the devnet in this process (temp dir, free
// ports), the agent and the honest 2020117-session as child processes, and the fuzzers in a worker
// thread so that the devnet's wallet and relay (which the honest session pays through) stay
// responsive however hard the fuzzers run.
//
//   node scripts/fuzz-live.mjs [--frames=1000000] [--seed=S] [--connections=4] [--json]
//                              [--hostile-rate=0.05] [--max-seconds=1200]
//
// Each fuzz connection (--connections lanes, each dialling its next connection while fuzzing the
// current one) dials the agent with a fresh key, opens the raw '2020117/session' protomux channel
// as a customer (2% of the time with a mutated handshake, whose refusal code is checked), then
// stays idle (30%), sends skill_request (40%), or also starts a session (30%, at most 8 a second:
// each costs the agent an invoice from its wallet); 35% of the sessions pay tick 0 and every later
// tick for real, so that tunnel streams reach the gateway and its HTTP parser. Then it sends frames:
//
// - hostile frames (probability --hostile-rate): a valid encoded frame of any message type (new
//   types get their id and a random body), mutated with 1-3 of: bit flips, truncation, insertion,
//   a 0xfd/0xfe/0xff varint prefix, length inflation, a type swap (including reserved and unknown
//   ids), duplication, trailing bytes, byte runs; or, 15% of the time, left valid (and mostly
//   illegal for the state or the role). Rarely a frame over MAX_FRAME_BYTES or an empty one. After
//   each hostile frame the fuzzer sends a skill_request and waits for its skill_response or the
//   channel's close: so no frame is wasted on a channel that is already closed, and for every frame
//   our own decoder refuses, the agent's `error` frame must carry the same code (mismatches are
//   counted in `oracle_mismatches`).
// - benign frames otherwise, legal for the state so the channel lives on: stream_open with the next
//   id, stream_data within the window (HTTP requests, good and bad, or random bytes), stream_credit,
//   stream_end, stream_reset, late frames for reset streams, skill_request.
//
// A channel the agent closes (error frame, session_end, close) is replaced by a new connection.
// `frames` counts every frame sent on an open channel (hostile, probe and benign); `hostile_frames`
// and `mutated_frames` say how many of them were hostile / mutated.
//
// The honest session is OK if its tunnel answers GET /healthz before and after, its process still
// runs, and the agent never ended it. Prints `{frames, seconds, frames_per_s,
// channels_closed_by_agent, agent_alive, honest_session_ok, agent_rss_mb_start, agent_rss_mb_end,
// seed, ...}` as JSON (one line with --json) and exits 1 if the agent died or the honest session
// broke. --max-seconds bounds the run (the JSON then says stopped_by: "max-seconds").
// FUZZ_LIVE_LOG_DIR=<dir> keeps the agent's and the honest session's stderr there.
//
// With most frames hostile (--hostile-rate=1) the rate is bound by reconnects, since nearly every
// hostile frame costs a channel: ~400 hostile frames/s on 2 cores, against ~6500 frames/s at 0.05.

import { randomInt } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { parseJson, spawnProcess } from '@2020117/testkit/process'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const dist = (path) => import(`${ROOT}${path}`)

if (isMainThread) {
  main().then(
    (code) => {
      process.exitCode = code
    },
    (err) => {
      process.stderr.write(`fuzz-live: ${err?.stack ?? err}\n`)
      process.exitCode = 2
    }
  )
} else {
  fuzzWorker(workerData).catch((err) => {
    parentPort.postMessage({ type: 'crash', error: String(err?.stack ?? err) })
  })
}

// -- command line ----------------------------------------------------------------------------------

function parseOptions() {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string', default: '1000000' },
      seed: { type: 'string' },
      connections: { type: 'string', default: '4' },
      'hostile-rate': { type: 'string', default: '0.05' },
      'max-seconds': { type: 'string', default: '1200' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true
  })
  if (values.help) {
    process.stdout.write(
      'usage: node scripts/fuzz-live.mjs [--frames=1000000] [--seed=S] [--connections=4] [--hostile-rate=0.05] [--max-seconds=1200] [--json]\n'
    )
    process.exit(0)
  }
  const int = (name, min, max) => {
    const raw = values[name].replace(/_/g, '').replace(/,/g, '')
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
      usage(`--${name} must be an integer from ${min} to ${max}`)
    return Number(raw)
  }
  const rate = Number(values['hostile-rate'])
  if (!(rate > 0 && rate <= 1)) usage('--hostile-rate must be a number in (0, 1]')
  let seed
  if (values.seed === undefined) seed = randomInt(0, 2 ** 32)
  else if (/^\d+$/.test(values.seed) && Number(values.seed) < 2 ** 32) seed = Number(values.seed)
  else usage('--seed must be an integer from 0 to 4294967295')
  return {
    frames: int('frames', 1, 1e9),
    connections: int('connections', 1, 64),
    maxSeconds: int('max-seconds', 1, 86_400),
    hostileRate: rate,
    seed,
    json: values.json
  }
}

function usage(message) {
  process.stderr.write(`fuzz-live: ${message}\n`)
  process.exit(2)
}

// -- main thread: network, agent, honest session, verdict ------------------------------------------

async function main() {
  const opts = parseOptions()
  const log = (msg) => {
    if (!opts.json) process.stderr.write(`[fuzz-live] ${msg}\n`)
  }
  const dir = await mkdtemp(join(tmpdir(), '2020117-fuzz-live-'))
  const home = join(dir, 'home')
  mkdirSync(home)
  const children = []
  let devnet = null
  let worker = null
  const cleanup = async () => {
    if (worker) await worker.terminate().catch(() => {})
    for (const p of children) p.kill('SIGKILL')
    await Promise.all(children.map((p) => p.exited))
    await devnet?.close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
  const onSignal = () => void cleanup().then(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    const { startDevnet } = await dist('packages/devnet/network/dist/index.js')
    devnet = await startDevnet({
      dir: join(dir, 'devnet'),
      dhtPort: 0,
      relayPort: 0,
      webuiPort: 0,
      webuiStepDelayMs: 1
    })
    // The fuzzers pay from their own account, so they can never drain the honest customer's.
    await devnet.wallet.createAccount('fuzzer', { fundSats: 10_000_000 })
    const devnetFlag = `--devnet=${join(dir, 'devnet')}`

    // Ticks of 10 s and a grace of 10 s: the honest session pays every 10 s all through the fuzzing
    // and is ended UNPAID if a payment of its is not verified within 20 s; unpaid fuzz sessions end
    // 20 s after their first tick. Room for the fuzzers' sessions besides the honest one.
    const agent = spawnNode(
      'agent',
      `${ROOT}apps/agent/dist/bin.js`,
      [
        devnetFlag,
        '--sats-per-minute=5',
        '--tick-seconds=10',
        '--grace-seconds=10',
        `--max-sessions=${opts.connections * 4 + 1}`,
        '--json'
      ],
      home
    )
    children.push(agent)
    const ready = await agent.json((e) => e.event === 'ready')
    log(`agent ${agent.pid} ready, swarm key ${ready.swarm_key}`)

    const session = spawnNode(
      'session',
      `${ROOT}apps/session/dist/bin.js`,
      [devnetFlag, '--budget=1000', '--port=0', '--yes', '--no-repl', `--swarm-key=${ready.swarm_key}`],
      home
    )
    children.push(session)
    const tunnelUrl = /(http:\/\/127\.0\.0\.1:\d+)/.exec(await session.line(/tunnel open: http:\/\/\S+/))[1]
    const honest = await agent.json((e) => e.event === 'session_started')
    const honestOkBefore = await healthz(tunnelUrl)
    log(
      `honest session ${honest.session_id.slice(0, 8)} open at ${tunnelUrl} (GET /healthz: ${honestOkBefore ? 200 : 'FAILED'})`
    )
    const honestPaidBefore = countMatches(session.stderr(), /paid tick \d+/g)

    const rssStart = rssMb(agent.pid)
    const started = Date.now()
    // The agent's RSS every 15 s: a leak shows as a climb that does not level off.
    const rssSeries = [rssStart]
    const rssTimer = setInterval(() => rssSeries.push(rssMb(agent.pid)), 15_000)
    worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: {
        bootstrap: devnet.state.bootstrap,
        swarmKey: ready.swarm_key,
        seed: opts.seed,
        frames: opts.frames,
        connections: opts.connections,
        hostileRate: opts.hostileRate,
        deadline: started + opts.maxSeconds * 1000,
        progress: !opts.json
      }
    })
    const done = new Promise((resolve, reject) => {
      worker.on('message', (m) => {
        if (m.type === 'done') resolve(m.stats)
        else if (m.type === 'crash') reject(new Error(`the fuzz worker crashed: ${m.error}`))
        else if (m.type === 'progress') log(m.text)
        else if (m.type === 'pay') {
          devnet.wallet.payInvoice('fuzzer', m.bolt11).then(
            (r) => worker.postMessage({ type: 'paid', id: m.id, preimage: r.preimage }),
            (err) => worker.postMessage({ type: 'paid', id: m.id, error: String(err?.message ?? err) })
          )
        }
      })
      worker.once('error', reject)
    })
    // Should the agent die, stop at once: the verdict is already known.
    void agent.exited.then(() => worker?.postMessage({ type: 'stop' }))
    const stats = await done.finally(() => clearInterval(rssTimer))
    const seconds = (Date.now() - started) / 1000
    await worker.terminate()
    worker = null

    const rssEnd = rssMb(agent.pid)
    const agentAlive =
      agent.child.exitCode === null && agent.child.signalCode === null && existsSync(`/proc/${agent.pid}`)
    const honestGet = await healthz(tunnelUrl)
    const honestEnded =
      agent.events().find((e) => e.event === 'session_ended' && e.session_id === honest.session_id) ?? null
    const honestAlive = session.child.exitCode === null && session.child.signalCode === null
    const honestPaidDuring = countMatches(session.stderr(), /paid tick \d+/g) - honestPaidBefore
    const honestOk = honestOkBefore && honestGet && honestAlive && honestEnded === null
    // The agent's log must hold no stack trace (a crash or an error that escaped its handlers).
    const stackAt = agent.stderr().search(/^\s+at .+:\d+:\d+\)?$|Unhandled|uncaught/im)
    const stackTrace = stackAt >= 0

    const result = {
      frames: stats.frames,
      seconds: round(seconds, 1),
      frames_per_s: Math.round(stats.frames / seconds),
      channels_closed_by_agent: stats.closedByAgent,
      agent_alive: agentAlive,
      honest_session_ok: honestOk,
      agent_rss_mb_start: rssStart,
      agent_rss_mb_end: rssEnd,
      agent_rss_mb_every_15s: rssSeries,
      seed: opts.seed,
      connections: opts.connections,
      hostile_rate: opts.hostileRate,
      hostile_frames: stats.hostile,
      mutated_frames: stats.mutated,
      channels: stats.channels,
      channels_closed_by_fuzzer: stats.closedBySelf,
      connect_failures: stats.connectFailures,
      sessions_acked: stats.sessionsAcked,
      sessions_rejected: stats.sessionsRejected,
      fuzz_ticks_paid: stats.ticksPaid,
      streams_served: stats.streamsServed,
      stream_bytes_from_agent: stats.streamBytesFromAgent,
      agent_error_codes: stats.errorCodes,
      agent_session_end_reasons: stats.endReasons,
      agent_stream_reset_codes: stats.resetCodes,
      handshakes_refused: stats.handshakesRefused,
      oracle_checked: stats.oracleChecked,
      oracle_mismatches: stats.oracleMismatches,
      oracle_mismatch_examples: stats.oracleExamples,
      undecodable_from_agent: stats.undecodableFromAgent,
      honest_ticks_paid_during_fuzz: honestPaidDuring,
      honest_ended_by: honestEnded ? { by: honestEnded.by, reason: honestEnded.reason } : null,
      agent_stderr_stack_trace: stackTrace,
      agent_stderr_excerpt: stackTrace ? agent.stderr().slice(Math.max(0, stackAt - 1500), stackAt + 1500) : null,
      stopped_by: stats.stoppedBy
    }
    if (opts.json) process.stdout.write(JSON.stringify(result) + '\n')
    else process.stdout.write(JSON.stringify(result, null, 2) + '\n')
    // FUZZ_LIVE_LOG_DIR=<dir> keeps the agent's and the honest session's logs (their last 20 000 lines).
    if (process.env.FUZZ_LIVE_LOG_DIR) {
      writeFileSync(join(process.env.FUZZ_LIVE_LOG_DIR, 'agent.stderr.log'), agent.stderr())
      writeFileSync(join(process.env.FUZZ_LIVE_LOG_DIR, 'session.stderr.log'), session.stderr())
    }
    if (!agentAlive)
      process.stderr.write(`fuzz-live: THE AGENT DIED\n--- agent stderr ---\n${agent.stderr().slice(-4000)}\n`)
    if (!honestOk)
      process.stderr.write(
        `fuzz-live: THE HONEST SESSION BROKE\n--- session stderr ---\n${session.stderr().slice(-4000)}\n`
      )
    return agentAlive && honestOk ? 0 : 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await cleanup()
  }
}

function spawnNode(name, bin, args, home) {
  const proc = spawnProcess(process.execPath, [bin, ...args], {
    name,
    cwd: home,
    env: { ...process.env, HOME: home, KEYS_AGENT: `fuzz-${name}`, NO_COLOR: '1' },
    // The tail of each stream: a long run must not hold every log line.
    keepLines: 20_000
  })
  // Every JSON event, kept whole: the verdict reads the agent's session_ended events at the end.
  const events = []
  proc.onLine(({ text, stream }) => {
    if (stream === 'stdout') {
      const event = parseJson(text)
      if (event) events.push(event)
    }
  })
  return Object.assign(proc, { events: () => events })
}

async function healthz(base) {
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(15_000) })
    await res.arrayBuffer()
    return res.status === 200
  } catch {
    return false
  }
}

function rssMb(pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
    return round(kb / 1024, 1)
  } catch {
    return null
  }
}

function countMatches(text, re) {
  return (text.match(re) ?? []).length
}

function round(n, digits) {
  return Math.round(n * 10 ** digits) / 10 ** digits
}

// -- worker thread: the fuzzers --------------------------------------------------------------------

async function fuzzWorker(cfg) {
  const P = await dist('protocol/dist/index.js')
  const { createDHT } = await dist('packages/swarm/dist/index.js')
  const fromProtocol = createRequire(`${ROOT}protocol/package.json`)
  const Protomux = fromProtocol('protomux')
  const c = fromProtocol('compact-encoding')
  const HyperDHT = createRequire(`${ROOT}packages/swarm/package.json`)('hyperdht')

  const stats = {
    frames: 0,
    hostile: 0,
    mutated: 0,
    channels: 0,
    closedByAgent: 0,
    closedBySelf: 0,
    connectFailures: 0,
    sessionsAcked: 0,
    sessionsRejected: 0,
    ticksPaid: 0,
    streamsServed: 0,
    streamBytesFromAgent: 0,
    errorCodes: {},
    endReasons: {},
    resetCodes: {},
    oracleChecked: 0,
    handshakesRefused: 0,
    oracleMismatches: 0,
    oracleExamples: [],
    undecodableFromAgent: 0,
    stoppedBy: 'frames'
  }
  let stopping = false
  const payWaiters = new Map()
  let payIds = 0
  parentPort.on('message', (m) => {
    if (m.type === 'stop') {
      stopping = true
      stats.stoppedBy = 'agent exited'
    } else if (m.type === 'paid') {
      payWaiters.get(m.id)?.(m)
      payWaiters.delete(m.id)
    }
  })
  const pay = (bolt11) =>
    new Promise((resolve) => {
      const id = ++payIds
      payWaiters.set(id, resolve)
      parentPort.postMessage({ type: 'pay', id, bolt11 })
    })
  const bump = (map, key) => (map[key] = (map[key] ?? 0) + 1)
  // At most SESSIONS_PER_S session_starts a second over all lanes. Each session makes the agent
  // ask its wallet for an invoice, and the devnet wallet rewrites its whole ledger on every change:
  // unbounded, the fuzzers would measure the devnet's ledger rather than the agent.
  const SESSIONS_PER_S = 8
  let tokens = SESSIONS_PER_S
  let tokensAt = Date.now()
  const sessionToken = () => {
    const now = Date.now()
    tokens = Math.min(SESSIONS_PER_S, tokens + ((now - tokensAt) / 1000) * SESSIONS_PER_S)
    tokensAt = now
    if (tokens < 1) return false
    tokens -= 1
    return true
  }

  const dht = createDHT({ bootstrap: cfg.bootstrap })
  await dht.ready()
  const agentKey = Buffer.from(cfg.swarmKey, 'hex')
  const started = Date.now()
  let lastProgress = started
  const more = () => {
    if (stopping) return false
    if (stats.frames >= cfg.frames) return false
    if (Date.now() > cfg.deadline) {
      stats.stoppedBy = 'max-seconds'
      return false
    }
    return true
  }
  const progress = () => {
    if (!cfg.progress || Date.now() - lastProgress < 5000) return
    lastProgress = Date.now()
    const s = (Date.now() - started) / 1000
    parentPort.postMessage({
      type: 'progress',
      text: `${stats.frames} frames in ${s.toFixed(0)} s (${Math.round(stats.frames / s)}/s), ${stats.channels} channels, ${stats.closedByAgent} closed by the agent, ${stats.oracleMismatches} oracle mismatches`
    })
  }

  const HTTP_REQUESTS = [
    'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n',
    'GET / HTTP/1.1\r\nhost: x\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    'GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nhost: 169.254.169.254\r\n\r\n',
    'CONNECT 127.0.0.1:22 HTTP/1.1\r\nhost: 127.0.0.1:22\r\n\r\n',
    'GET //evil.example/ HTTP/1.1\r\n\r\n',
    'GET /%zz%ff HTTP/1.1\r\nhost: x\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nhost: x\r\norigin: http://evil.example\r\n\r\n',
    'POST /healthz HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nnot hex\r\n',
    'POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999999999999\r\n\r\n',
    'GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n',
    'GET /' + 'a'.repeat(20_000) + ' HTTP/1.1\r\n\r\n',
    'GET / HTTP/1.1\r\n' + 'x-h: v\r\n'.repeat(3000) + '\r\n',
    '\r\n\r\n\r\n',
    'HTTP/1.1 200 OK\r\n\r\n'
  ].map((s) => Buffer.from(s))

  async function lane(index) {
    const rng = makeRng((cfg.seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0)
    let failures = 0
    // The next connection is dialled while the current one is fuzzed, so no lane waits on a dial.
    let next = dial(rng)
    while (more()) {
      const conn = await next
      next = more() ? dial(rng) : null
      if (conn === null) {
        stats.connectFailures++
        if (++failures >= 20) {
          // 20 dials in a row failed: the agent is gone or refuses everyone. Either is the verdict.
          stopping = true
          stats.stoppedBy = 'the agent stopped accepting connections'
        }
        continue
      }
      failures = 0
      await fuzzConnection(conn, rng)
      progress()
    }
    const spare = await next
    spare?.destroy()
  }

  /** A new connection to the agent under a fresh key, or null if it could not be made. */
  function dial(rng) {
    const conn = dht.connect(agentKey, { keyPair: HyperDHT.keyPair(rng.bytes(32)) })
    conn.on('error', () => {})
    return new Promise((resolve) => {
      conn.once('open', () => resolve(conn))
      conn.once('close', () => resolve(null))
    })
  }

  /** One connection, one channel. */
  async function fuzzConnection(conn, rng) {
    if (conn.destroyed) return
    stats.channels++
    const ch = fuzzChannel(conn, rng)
    try {
      await ch.run()
    } finally {
      if (ch.closedByAgent) stats.closedByAgent++
      else stats.closedBySelf++
      conn.destroy()
    }
  }

  function fuzzChannel(conn, rng) {
    const mux = Protomux.from(conn)
    const s = {
      opened: false,
      closed: false,
      selfClosing: false,
      closedByAgent: false,
      error: null,
      sessionId: null,
      acked: false,
      rejected: false,
      ended: false,
      receipts: 0,
      recent: [],
      served: new Set(),
      paying: false,
      skillResponses: 0,
      skillExpected: 0,
      unpaid: [],
      payChain: Promise.resolve(),
      highestStream: 0,
      streams: new Map(), // id -> { reset, bytes, ended }
      nextTickAckSeq: 0,
      waiters: []
    }
    const wake = () => {
      for (const w of s.waiters.splice(0)) {
        if (!w()) s.waiters.push(w)
      }
    }
    const until = (pred) =>
      new Promise((resolve) => {
        const check = () => {
          if (s.closed || pred()) {
            resolve(!s.closed)
            return true
          }
          return false
        }
        if (!check()) s.waiters.push(check)
      })
    let drainWaiter = null
    const channel = mux.createChannel({
      protocol: P.PROTOCOL_NAME,
      id: null,
      handshake: c.raw,
      onopen: () => {
        s.opened = true
        wake()
      },
      onclose: () => {
        s.closed = true
        if (!s.selfClosing) s.closedByAgent = true
        drainWaiter?.()
        wake()
      },
      ondrain: () => drainWaiter?.()
    })
    const frames = channel.addMessage({ encoding: c.raw, onmessage: (frame) => onframe(frame) })

    function onframe(frame) {
      let msg
      try {
        msg = P.decodeMessage(frame)
      } catch {
        stats.undecodableFromAgent++
        return
      }
      switch (msg.type) {
        case 'error':
          s.error = msg.code
          s.errorMessage = msg.message
          bump(stats.errorCodes, msg.code)
          break
        case 'skill_response':
          s.skillResponses++
          break
        case 'session_ack':
          s.acked = true
          s.sessionId = msg.sessionId
          stats.sessionsAcked++
          break
        case 'session_reject':
          s.rejected = true
          stats.sessionsRejected++
          break
        case 'session_end':
          s.ended = true
          bump(stats.endReasons, msg.reason)
          break
        case 'tick':
          s.unpaid.push(msg.seq)
          if (s.paying) payTick(msg)
          break
        case 'stream_reset': {
          bump(stats.resetCodes, msg.code)
          const st = s.streams.get(msg.streamId)
          if (st) st.reset = true
          break
        }
        case 'stream_data':
          stats.streamBytesFromAgent += msg.data.byteLength
          if (!s.served.has(msg.streamId)) {
            s.served.add(msg.streamId)
            stats.streamsServed++
          }
          break
        case 'tick_receipt':
          s.receipts++
          break
        default:
          break
      }
      wake()
    }

    function payTick(tick) {
      // Pays in order and acknowledges the oldest unpaid tick, as an honest customer does.
      s.payChain = s.payChain.then(async () => {
        const r = await pay(tick.bolt11)
        if (r.error || s.closed) return
        if (s.unpaid[0] !== tick.seq) return
        if (
          send(
            P.encodeMessage({
              type: 'tick_ack',
              sessionId: s.sessionId,
              seq: tick.seq,
              preimage: Buffer.from(r.preimage, 'hex')
            })
          )
        ) {
          s.unpaid.shift()
          stats.ticksPaid++
        }
      })
    }

    /** Sends one frame on the open channel; false if the channel is closed. */
    function send(frame) {
      if (s.closed) return false
      frames.send(frame)
      stats.frames++
      s.recent.push(frame)
      if (s.recent.length > 6) s.recent.shift()
      return true
    }

    async function backpressure() {
      if (mux.drained !== false || s.closed) return
      await new Promise((resolve) => {
        drainWaiter = resolve
      })
      drainWaiter = null
    }

    const sessionId = () => s.sessionId ?? rng.bytes(16)

    /** A valid frame of any type, with plausible values for this channel. */
    function template(type) {
      const id = () => (s.highestStream > 0 && rng.chance(0.7) ? 1 + rng.int(s.highestStream) : rng.int(1000))
      switch (type) {
        case 'error':
          return { type, code: rng.pick(['FUZZ', 'UNPAID', 'DECODE_ERROR']), message: 'fuzz' }
        case 'skill_request':
          return { type, kind: rng.pick([5200, 5050, 0, 65535]) }
        case 'skill_response':
          return {
            type,
            manifest: '{"name":"fuzz"}',
            offers: [{ kind: 5200, satsPerMinute: 1 }],
            tickSeconds: 1,
            paymentMethods: ['bolt11', 'free'],
            capacity: 1,
            maxSessions: 1,
            identity: null
          }
        case 'session_start':
          return {
            type,
            kind: 5200,
            budgetSats: rng.pick([0, 1, 1000, 2_100_000_000_000_000]),
            maxSatsPerMinute: rng.pick([0, 5, 100_000_000]),
            paymentMethod: rng.pick(['bolt11', 'free', 'x']),
            customerPubkey: rng.chance(0.5) ? rng.bytes(32) : null
          }
        case 'session_ack':
          return {
            type,
            sessionId: sessionId(),
            satsPerMinute: 0,
            tickSeconds: 1,
            graceSeconds: 1,
            resumeSecret: rng.bytes(32)
          }
        case 'session_reject':
          return { type, code: 'NO_CAPACITY', message: 'fuzz' }
        case 'tick':
          return {
            type,
            sessionId: sessionId(),
            seq: s.nextTickAckSeq,
            amountMsat: 1,
            bolt11: 'lnbcrt1fuzz',
            periodStart: 0,
            periodEnd: 10
          }
        case 'tick_ack':
          return {
            type,
            sessionId: sessionId(),
            seq: rng.chance(0.7) ? (s.unpaid[0] ?? 0) : rng.int(5),
            preimage: rng.bytes(32)
          }
        case 'tick_receipt':
          return { type, sessionId: sessionId(), seq: 0, paidUntil: 10 }
        case 'session_end':
          return {
            type,
            sessionId: sessionId(),
            by: rng.pick(['customer', 'provider']),
            reason: 'CUSTOMER_QUIT',
            message: 'fuzz',
            ticksPaid: 0,
            msatPaid: 0,
            durationMs: 1
          }
        case 'stream_open':
          return { type, streamId: rng.chance(0.8) ? s.highestStream + 1 : id() }
        case 'stream_data':
          return {
            type,
            streamId: id(),
            data: rng.chance(0.5) ? rng.pick(HTTP_REQUESTS).subarray(0, 4096) : rng.bytes(rng.int(64))
          }
        case 'stream_credit':
          return { type, streamId: id(), bytes: 1 + rng.int(P.MAX_STREAM_WINDOW) }
        case 'stream_end':
          return { type, streamId: id() }
        case 'stream_reset':
          return { type, streamId: id(), code: 'CANCELLED', message: '' }
        case 'session_resume':
          return { type, sessionId: sessionId(), resumeSecret: rng.bytes(32) }
        case 'session_resumed':
          return {
            type,
            sessionId: sessionId(),
            satsPerMinute: 5,
            tickSeconds: 10,
            graceSeconds: 5,
            nextSeq: 0,
            paidUntil: 0,
            elapsedMs: 0
          }
      }
      // A message type added after this script was written: its id and a random body.
      return null
    }

    function hostileFrame() {
      if (rng.chance(0.0005))
        return { frame: Buffer.alloc(P.MAX_FRAME_BYTES + 1 + rng.int(64), rng.int(256)), mutated: true }
      if (rng.chance(0.002)) return { frame: Buffer.alloc(0), mutated: true }
      const type = rng.pick(P.MESSAGE_TYPES.filter(Boolean))
      const msg = template(type)
      let valid
      try {
        valid = msg ? Buffer.from(P.encodeMessage(msg)) : null
      } catch {
        valid = null // a template that no longer fits a changed codec
      }
      valid ??= Buffer.concat([Buffer.from([P.MESSAGE_IDS[type]]), rng.bytes(rng.int(48))])
      if (rng.chance(0.15)) return { frame: valid, mutated: false }
      let frame = valid
      const n = 1 + rng.int(3)
      for (let i = 0; i < n; i++) frame = rng.pick(MUTATORS)(rng, frame)
      if (frame.byteLength > P.MAX_FRAME_BYTES + 64) frame = frame.subarray(0, P.MAX_FRAME_BYTES + 64)
      return { frame, mutated: true }
    }

    /** A frame legal in the channel's state (as far as this side knows), to keep the channel alive. */
    function benignFrame() {
      if (!s.acked) {
        s.skillExpected++
        return P.encodeMessage({ type: 'skill_request', kind: 5200 })
      }
      const r = rng.next()
      const opened = [...s.streams.keys()]
      if (r < 0.3 || opened.length === 0) {
        const id = ++s.highestStream
        s.streams.set(id, { reset: false, bytes: 0, ended: false })
        if (s.streams.size > 300) s.streams.delete(s.streams.keys().next().value)
        return P.encodeMessage({ type: 'stream_open', streamId: id })
      }
      const id = rng.pick(opened)
      const st = s.streams.get(id)
      if (r < 0.75 && !st.ended) {
        let data = rng.chance(0.7) ? rng.pick(HTTP_REQUESTS) : rng.bytes(1 + rng.int(512))
        if (rng.chance(0.2)) data = rng.pick(MUTATORS)(rng, data)
        data = data.subarray(0, Math.min(data.byteLength, P.MAX_STREAM_CHUNK))
        // Stay well inside the initial window: the agent grants credit only as the gateway reads.
        if (st.bytes + data.byteLength > P.STREAM_INITIAL_WINDOW / 2)
          return P.encodeMessage({ type: 'stream_end', streamId: id })
        st.bytes += data.byteLength
        return P.encodeMessage({ type: 'stream_data', streamId: id, data })
      }
      if (r < 0.85) return P.encodeMessage({ type: 'stream_credit', streamId: id, bytes: 1 + rng.int(65536) })
      if (r < 0.92) {
        st.ended = true
        return P.encodeMessage({ type: 'stream_end', streamId: id })
      }
      if (r < 0.97) {
        s.streams.delete(id)
        return P.encodeMessage({ type: 'stream_reset', streamId: id, code: 'CANCELLED', message: 'fuzz' })
      }
      s.skillExpected++
      return P.encodeMessage({ type: 'skill_request', kind: 5200 })
    }

    /** The code a provider must refuse this handshake with, or null if it is acceptable. */
    function handshakeRefusal(raw) {
      let h
      try {
        h = P.decodeHandshake(raw)
      } catch (err) {
        return err.code ?? 'DECODE_ERROR'
      }
      if (h.version !== P.PROTOCOL_VERSION) return 'VERSION_MISMATCH'
      if (h.role !== 'customer') return 'ROLE_MISMATCH'
      return null
    }

    /** Whether `frame` is one our own decoder refuses, and with which code. */
    function localRefusal(frame) {
      let msg
      try {
        msg = P.decodeMessage(frame)
      } catch (err) {
        return err.code ?? 'DECODE_ERROR'
      }
      // A hostile frame that decodes may be legal: follow what it does to the channel's state, so
      // that the benign frames after it stay legal.
      const st = 'streamId' in msg ? s.streams.get(msg.streamId) : undefined
      switch (msg.type) {
        case 'skill_request':
          s.skillExpected++
          break
        case 'stream_open':
          if (msg.streamId > s.highestStream) {
            s.highestStream = msg.streamId
            s.streams.set(msg.streamId, { reset: false, bytes: 0, ended: false })
          }
          break
        case 'stream_data':
          if (st) st.bytes += msg.data.byteLength
          break
        case 'stream_end':
          if (st) st.ended = true
          break
        case 'stream_reset':
          s.streams.delete(msg.streamId)
          break
        default:
          break
      }
      return null
    }

    async function run() {
      // The handshake, now and then mutated: the agent must refuse it with an error, not crash.
      let handshake = Buffer.from(
        P.encodeHandshake({ version: P.PROTOCOL_VERSION, role: 'customer', software: 'fuzz-live' })
      )
      const mutateHandshake = rng.chance(0.02)
      if (mutateHandshake)
        handshake = rng.pick([
          ...MUTATORS,
          () => Buffer.from(P.encodeHandshake({ version: 1, role: 'provider', software: 'fuzz-live' }))
        ])(rng, handshake)
      channel.open(handshake)
      await until(() => s.opened)
      if (s.closed) return
      if (mutateHandshake) {
        const expected = handshakeRefusal(handshake)
        if (expected !== null) {
          // Refused: the agent must say why (and close) before this side sends anything.
          stats.handshakesRefused++
          await until(() => false)
          if (s.error !== expected) {
            stats.oracleMismatches++
            if (stats.oracleExamples.length < 5)
              stats.oracleExamples.push({
                handshake: handshake.toString('hex'),
                expected,
                got: s.error,
                message: s.errorMessage ?? null
              })
          }
          return
        }
      }

      // 30% stay idle, 40% ask for the skill first, 30% start a session (within the session
      // budget above, else they stay in the skill phase). Sessions cost the agent an invoice from
      // its wallet each (and paid ones a lookup per tick), so they are fewer and live longer.
      const phase = rng.next()
      if (phase >= 0.3) {
        s.skillExpected++
        send(P.encodeMessage({ type: 'skill_request', kind: 5200 }))
        if (!(await until(() => s.skillResponses >= s.skillExpected))) return
      }
      if (phase >= 0.7 && sessionToken()) {
        // Half of the sessions pay for real (tick 0 and every later one), so that their streams
        // are admitted and reach the gateway; fuzzing starts once the first receipt is in.
        s.paying = rng.chance(0.35)
        send(
          P.encodeMessage({
            type: 'session_start',
            kind: 5200,
            budgetSats: 1000,
            maxSatsPerMinute: 5,
            paymentMethod: 'bolt11',
            customerPubkey: null
          })
        )
        if (!(await until(() => s.acked || s.rejected))) return
        if (s.acked && s.paying && !(await until(() => s.receipts > 0))) return
      }
      const budget = s.acked ? 100 + rng.int(2000) : 20 + rng.int(600)
      for (let i = 0; i < budget && more() && !s.closed; i++) {
        if (rng.chance(cfg.hostileRate)) {
          const { frame, mutated } = hostileFrame()
          const refusal = localRefusal(frame)
          if (!send(frame)) break
          stats.hostile++
          if (mutated) stats.mutated++
          // The probe: a live channel answers it; a refused frame closes the channel first.
          s.skillExpected++
          send(P.encodeMessage({ type: 'skill_request', kind: 5200 }))
          await until(() => s.skillResponses >= s.skillExpected)
          // A session that ended on its own (an unpaid tick) at the same moment is no verdict.
          if (refusal !== null && !(s.closed && s.error === null && s.ended)) {
            stats.oracleChecked++
            if (!s.closed || s.error !== refusal) {
              stats.oracleMismatches++
              if (stats.oracleExamples.length < 5)
                stats.oracleExamples.push({
                  frame: Buffer.from(frame.subarray(0, 64)).toString('hex'),
                  bytes: frame.byteLength,
                  expected: refusal,
                  got: s.closed ? s.error : 'channel still open',
                  message: s.errorMessage ?? null,
                  before: s.recent.slice(0, -2).map((f) => Buffer.from(f.subarray(0, 24)).toString('hex'))
                })
            }
          }
        } else {
          if (!send(benignFrame())) break
        }
        await backpressure()
        // Let the channel's incoming frames (ticks, resets) be handled now and then.
        if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve))
      }
      if (s.paying && s.acked) await s.payChain
      if (!s.closed) {
        s.selfClosing = true
        // End the session properly, so its slot is free at once for the next fuzzer.
        if (s.acked && !s.ended)
          send(
            P.encodeMessage({
              type: 'session_end',
              sessionId: s.sessionId,
              by: 'customer',
              reason: 'CUSTOMER_QUIT',
              message: 'fuzz',
              ticksPaid: 0,
              msatPaid: 0,
              durationMs: 0
            })
          )
        channel.close()
      }
    }

    return {
      run,
      get closedByAgent() {
        return s.closedByAgent
      }
    }
  }

  await Promise.all(Array.from({ length: cfg.connections }, (_, i) => lane(i)))
  if (stopping && stats.stoppedBy === 'frames') stats.stoppedBy = 'stopped'
  parentPort.postMessage({ type: 'done', stats })
  await dht.destroy().catch(() => {})
}

// -- mutations -------------------------------------------------------------------------------------

const MUTATORS = [
  function bitFlips(rng, b) {
    if (b.byteLength === 0) return b
    const out = Buffer.from(b)
    for (let k = 1 + rng.int(4); k > 0; k--) out[rng.int(out.length)] ^= 1 << rng.int(8)
    return out
  },
  function truncate(rng, b) {
    return b.subarray(0, rng.int(b.byteLength))
  },
  function insert(rng, b) {
    const at = rng.int(b.byteLength + 1)
    return Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)])
  },
  function varintPrefix(rng, b) {
    // 0xfd/0xfe/0xff announce a 2/4/8-byte uint: overwrite or insert one where a uint may start.
    const at = rng.int(b.byteLength + 1)
    const prefix = Buffer.from([rng.pick([0xfd, 0xfe, 0xff])])
    return rng.chance(0.5)
      ? Buffer.concat([b.subarray(0, at), prefix, b.subarray(at)])
      : Buffer.concat([b.subarray(0, at), prefix, b.subarray(at + 1)])
  },
  function inflateLength(rng, b) {
    // A byte replaced by a large length: one byte (0xfc), or 2/4/8-byte forms of huge values.
    if (b.byteLength === 0) return b
    const at = rng.int(b.byteLength)
    const big = rng.pick([
      [0xfc],
      [0xfd, 0xff, 0xff],
      [0xfd, 0x01, 0x00],
      [0xfe, 0xff, 0xff, 0xff, 0x7f],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    ])
    return Buffer.concat([b.subarray(0, at), Buffer.from(big), b.subarray(at + 1)])
  },
  function typeSwap(rng, b) {
    // Every type id is below 0xfd, so the type is the first byte. New: any id, reserved ids, or a
    // non-minimal form of a real one.
    const body = b.subarray(1)
    const r = rng.next()
    let type
    if (r < 0.5) type = [rng.int(21)]
    else if (r < 0.8) type = [rng.int(0xfd)]
    else if (r < 0.9) type = [0xfd, rng.int(21), 0]
    else type = [0xfe, rng.int(256), rng.int(256), rng.int(256), rng.int(256)]
    return Buffer.concat([Buffer.from(type), body])
  },
  function duplicate(_rng, b) {
    return Buffer.concat([b, b])
  },
  function trailing(rng, b) {
    return Buffer.concat([b, rng.bytes(1 + rng.int(4))])
  },
  function byteRun(rng, b) {
    if (b.byteLength === 0) return b
    const out = Buffer.from(b)
    const at = rng.int(out.length)
    out.fill(rng.pick([0x00, 0xff, 0x80, 0x7f]), at, Math.min(out.length, at + 1 + rng.int(8)))
    return out
  }
]

// -- deterministic randomness ----------------------------------------------------------------------

/** sfc32, seeded through splitmix32: small, fast, and the same sequence for the same seed. */
function makeRng(seed) {
  let s = seed >>> 0
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split()
  let b = split()
  let c = split()
  let d = split()
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t
  }
  const rng = {
    next: () => u32() / 2 ** 32,
    int: (n) => (n <= 0 ? 0 : Math.floor((u32() / 2 ** 32) * n)),
    chance: (p) => u32() / 2 ** 32 < p,
    pick: (list) => list[Math.floor((u32() / 2 ** 32) * list.length)],
    bytes: (n) => {
      const out = Buffer.allocUnsafe(n)
      for (let i = 0; i < n; i++) out[i] = u32() & 0xff
      return out
    }
  }
  return rng
}
