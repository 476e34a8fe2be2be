#!/usr/bin/env node
// `node scripts/load.mjs [--quick]`: 2020117 under load, on the local network.
//
// The devnet (DHT bootstrap, relay, wallet, demo WebUI) runs in this process on free loopback
// ports, in a temp dir; the agents (2020117-agent), the customers (2020117-session) and the load
// clients (scripts/load/client.mjs) are separate processes, each in its own process group, all
// killed at the end, on error too. Prints ONE JSON object on stdout; progress goes to stderr.
// Exit 0 when everything was measured (whether or not a goal was met), 1 when something could not
// be measured, 2 when the build is missing.
//
//   one_session      through ONE session's tunnel at once: HTTP requests, each on a connection
//                    of its own (in turn GET /, POST /sdapi/v1/txt2img 64x64 with the PNG checked,
//                    GET /download?bytes=1048576 with length and SHA-256 checked), and Gradio 3
//                    jobs on the /queue/join WebSocket (every progress step, then the image).
//                    200 + 20 (--quick: 30 + 5). {http_ok, http_errors, ws_ok, ws_errors, seconds}
//   twenty_sessions  one agent with --max-sessions=20 and 20 concurrent session CLIs (each with
//                    --swarm-key), each then doing 10 requests (GET /healthz, GET /, a small
//                    txt2img) through its own tunnel. --quick: 5 sessions of 5 requests.
//                    {sessions_open, requests_ok, errors, seconds}; errors counts the requests that
//                    failed or never ran because their session did not open.
//   slow_reader      one session; a client downloads 1 GiB through the tunnel but reads about
//                    1 MB/s (pausing and resuming the response), checking the bytes, while the
//                    agent's VmRSS is sampled from /proc every 500 ms for 15 s (--quick: 6 s),
//                    after a 32 MiB warm-up download at full speed (so the baseline has the data
//                    path's buffers allocated).
//                    {rss_mb_start, rss_mb_max, rss_mb_end, bytes_read, ...}: with per-stream flow
//                    control the growth stays at a few MiB; an unbounded buffer shows hundreds.
//                    The goal holds the agent's growth (and the session CLI's, reported under
//                    session_rss_mb) under 64 MiB, with bytes read and checked.
//
// The agents bill 5 sats/min in 10 s ticks (one_session) or 60 s ticks (the others), so that the
// wallet in this process is not the bottleneck; pnpm bench measures billing under load.
// Units: RSS in MiB (VmRSS / 1024); seconds are wall clock, from the start of the load.

import http from 'node:http'
import {
  createHarness,
  fromRoot,
  requireBuilt,
  round,
  rssMiB,
  sessionArgs,
  stop,
  tail,
  TUNNEL_OPEN
} from './lib/harness.mjs'

const QUICK = process.argv.includes('--quick')
for (const arg of process.argv.slice(2)) {
  if (arg !== '--quick') {
    process.stderr.write(`load: unknown argument ${arg} (usage: node scripts/load.mjs [--quick])\n`)
    process.exit(2)
  }
}

const MiB = 1024 * 1024
const CFG = QUICK
  ? { http: 30, ws: 5, sessions: 5, requestsPerSession: 5, slowSeconds: 6, deadlineMs: 150_000 }
  : { http: 200, ws: 20, sessions: 20, requestsPerSession: 10, slowSeconds: 15, deadlineMs: 360_000 }
const SLOW_BYTES = 1024 * MiB
const SLOW_RATE = 1_000_000
const WARMUP_BYTES = 32 * MiB
const RSS_EVERY_MS = 500
const RSS_GROWTH_GOAL_MB = 64

const DIST = requireBuilt('load', {
  devnet: 'packages/devnet/network/dist/index.js',
  agent: 'apps/agent/dist/bin.js',
  session: 'apps/session/dist/bin.js',
  testing: 'packages/devnet/webui/dist/testing.js'
})
const CLIENT = fromRoot('scripts/load/client.mjs')

// Child processes, each in its own process group, all killed at the end: scripts/lib/harness.mjs.
const { progress, tempDir, spawnNode, waitLine, waitJson, cleanUp, run } = createHarness({
  name: 'load',
  waitMs: 60_000
})

// -- helpers ----------------------------------------------------------------------------------------

function spawnAgent(name, flag, extra) {
  return spawnNode(name, DIST.agent, [flag, '--sats-per-minute=5', '--grace-seconds=30', '--json', ...extra])
}

function spawnSession(name, flag, swarmKey) {
  return spawnNode(name, DIST.session, sessionArgs(flag, swarmKey))
}

async function ready(agent) {
  return waitJson(agent, (v) => v.event === 'ready', { what: 'its ready event', ms: 60_000 })
}

async function tunnelOf(session, ms = 60_000) {
  const { match } = await waitLine(session, TUNNEL_OPEN, { stream: 'stderr', ms })
  return match[1]
}

/** One small request on a connection of its own; resolves with true when the answer is right. */
function smallRequest(base, i, probes) {
  const timeout = AbortSignal.timeout(60_000)
  if (i % 3 === 2)
    return probes
      .probeTxt2img(base, { prompt: `session load ${i}`, seed: i, width: 64, height: 64, signal: timeout })
      .then(() => true)
  const path = i % 3 === 0 ? '/healthz' : '/'
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(path, base), { agent: false, signal: timeout }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode !== 200) return reject(new Error(`GET ${path} answered ${res.statusCode}`))
        if (path === '/healthz' ? !body.includes('"ok":true') : !body.includes('id="prompt"'))
          return reject(new Error(`GET ${path}: unexpected body`))
        resolve(true)
      })
    })
    req.on('error', reject)
  })
}

// -- the measurements -------------------------------------------------------------------------------

async function oneSession(flag) {
  progress(
    `one session: an agent, a session, then ${CFG.http} concurrent HTTP requests and ${CFG.ws} concurrent WebSocket jobs through its tunnel…`
  )
  const agent = spawnAgent('agent-one', flag, ['--tick-seconds=10', '--name=load: one session'])
  const { swarm_key: swarmKey } = await ready(agent)
  const session = spawnSession('session-one', flag, swarmKey)
  const base = await tunnelOf(session)
  const client = spawnNode('client-mixed', CLIENT, ['mixed', base, String(CFG.http), String(CFG.ws)])
  const result = await waitJson(client, (v) => 'http_ok' in v, { what: 'its result', ms: 240_000 })
  await client.exited
  if (session.exitCode !== undefined)
    throw new Error(`the session ended during the load (${session.exitCode})\n${tail(session)}`)
  await stop(session)
  await stop(agent)
  progress(
    `  http ${result.http_ok} ok / ${result.http_errors} errors, ws ${result.ws_ok} ok / ${result.ws_errors} errors, ${result.seconds} s`
  )
  for (const s of result.error_samples) progress(`  error: ${s}`)
  return result
}

async function manySessions(flag, probes) {
  const n = CFG.sessions
  progress(
    `${n} sessions: an agent with --max-sessions=${n}, ${n} concurrent session CLIs, ${CFG.requestsPerSession} requests each…`
  )
  const agent = spawnAgent('agent-many', flag, [
    '--tick-seconds=60',
    `--max-sessions=${n}`,
    '--name=load: many sessions'
  ])
  const { swarm_key: swarmKey } = await ready(agent)
  const started = performance.now()
  const sessions = Array.from({ length: n }, (_, i) => spawnSession(`session-${i + 1}`, flag, swarmKey))
  const samples = []
  const note = (what, err) => {
    if (samples.length < 8)
      samples.push(`${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`.slice(0, 300))
  }
  const perSession = await Promise.all(
    sessions.map(async (s, si) => {
      let base
      try {
        base = await tunnelOf(s, 120_000)
      } catch (err) {
        note(`session ${si + 1} did not open`, err)
        return { open: false, ok: 0 }
      }
      let ok = 0
      for (let i = 0; i < CFG.requestsPerSession; i++) {
        try {
          if (await smallRequest(base, si * CFG.requestsPerSession + i, probes)) ok++
        } catch (err) {
          note(`session ${si + 1} request ${i + 1}`, err)
        }
      }
      return { open: true, ok }
    })
  )
  const seconds = (performance.now() - started) / 1000
  const alive = sessions.filter((s) => s.exitCode === undefined).length
  await Promise.all(sessions.map((s) => stop(s)))
  await stop(agent)
  const open = perSession.filter((r) => r.open).length
  const requestsOk = perSession.reduce((a, r) => a + r.ok, 0)
  const result = {
    sessions: n,
    sessions_open: open,
    sessions_alive_at_end: alive,
    requests_ok: requestsOk,
    errors: n * CFG.requestsPerSession - requestsOk,
    seconds: round(seconds),
    error_samples: samples
  }
  progress(`  ${open}/${n} open, ${requestsOk} requests ok, ${result.errors} errors, ${result.seconds} s`)
  for (const s of samples) progress(`  error: ${s}`)
  return result
}

async function slowReader(flag) {
  progress(
    `slow reader: 1 GiB through one tunnel read at ~${SLOW_RATE / 1e6} MB/s for ${CFG.slowSeconds} s, the agent's VmRSS every ${RSS_EVERY_MS} ms…`
  )
  const agent = spawnAgent('agent-slow', flag, ['--tick-seconds=60', '--name=load: slow reader'])
  const { swarm_key: swarmKey } = await ready(agent)
  const session = spawnSession('session-slow', flag, swarmKey)
  const base = await tunnelOf(session)
  // A warm-up download at full speed first, so that the data path's buffers and pools are
  // allocated before the baseline: the growth measured is then what the slow reader costs.
  const warm = await new Promise((resolve, reject) =>
    http
      .get(new URL(`/download?bytes=${WARMUP_BYTES}`, base), { agent: false }, (res) => {
        let n = 0
        res.on('data', (c) => (n += c.length))
        res.on('end', () => resolve({ status: res.statusCode, bytes: n }))
        res.on('error', reject)
      })
      .on('error', reject)
  )
  if (warm.status !== 200 || warm.bytes !== WARMUP_BYTES)
    throw new Error(
      `the warm-up download through the slow reader's tunnel answered ${warm.status} with ${warm.bytes} bytes`
    )

  const agentRss = [await rssMiB(agent.pid)]
  const sessionRss = [await rssMiB(session.pid)]
  const client = spawnNode('client-slow', CLIENT, [
    'slow',
    `${base}/download?bytes=${SLOW_BYTES}&seed=3`,
    String(SLOW_RATE),
    String(CFG.slowSeconds)
  ])
  let sampling = null
  const sampler = setInterval(() => {
    sampling = Promise.all([rssMiB(agent.pid), rssMiB(session.pid)])
      .then(([a, s]) => {
        agentRss.push(a)
        sessionRss.push(s)
      })
      .catch(() => {})
  }, RSS_EVERY_MS)
  let done
  try {
    const reading = await waitJson(client, (v) => v.event === 'reading', { what: 'the response headers', ms: 60_000 })
    if (reading.status !== 200) throw new Error(`the slow download answered ${reading.status}`)
    done = await waitJson(client, (v) => v.event === 'done', {
      what: 'the end of the slow read',
      ms: (CFG.slowSeconds + 60) * 1000
    })
  } finally {
    clearInterval(sampler)
    await sampling
  }
  await client.exited
  agentRss.push(await rssMiB(agent.pid))
  sessionRss.push(await rssMiB(session.pid))
  if (session.exitCode !== undefined)
    throw new Error(`the session ended during the slow read (${session.exitCode})\n${tail(session)}`)
  await stop(session)
  await stop(agent)
  const result = {
    rss_mb_start: agentRss[0],
    rss_mb_max: Math.max(...agentRss),
    rss_mb_end: agentRss[agentRss.length - 1],
    rss_growth_mb: round(Math.max(...agentRss) - agentRss[0]),
    bytes_read: done.bytes_read,
    content_ok: done.content_ok,
    seconds: CFG.slowSeconds,
    samples: agentRss.length,
    rss_mb_samples: agentRss,
    session_rss_mb: { start: sessionRss[0], max: Math.max(...sessionRss), end: sessionRss[sessionRss.length - 1] }
  }
  progress(
    `  agent VmRSS ${result.rss_mb_start} -> max ${result.rss_mb_max} -> ${result.rss_mb_end} MiB; ${result.bytes_read} bytes read; session max ${result.session_rss_mb.max} MiB`
  )
  return result
}

// -- the run ----------------------------------------------------------------------------------------

async function main() {
  const { startDevnet } = await import(DIST.devnet)
  const probes = await import(DIST.testing)
  const dir = tempDir()
  let devnet = null
  try {
    progress(`starting the devnet (in this process, loopback, free ports)${QUICK ? ' — quick run' : ''}…`)
    devnet = await startDevnet({ dir, dhtPort: 0, relayPort: 0, webuiPort: 0, webuiStepDelayMs: 5 })
    const flag = `--devnet=${dir}`

    const one = await oneSession(flag)
    const many = await manySessions(flag, probes)
    const slow = await slowReader(flag)

    return {
      quick: QUICK,
      one_session: {
        http_ok: one.http_ok,
        http_errors: one.http_errors,
        ws_ok: one.ws_ok,
        ws_errors: one.ws_errors,
        seconds: one.seconds,
        error_samples: one.error_samples
      },
      twenty_sessions: many,
      slow_reader: slow,
      goals: {
        one_session_zero_errors:
          one.http_errors === 0 && one.ws_errors === 0 && one.http_ok === CFG.http && one.ws_ok === CFG.ws,
        twenty_sessions_zero_errors: many.errors === 0 && many.sessions_open === CFG.sessions,
        // The agent's growth is the goal; the session's is held to the same bound (a customer that
        // buffered the whole download would fail it too), and the read must have been real.
        slow_reader_rss_growth_lt_64mb:
          slow.rss_mb_max - slow.rss_mb_start < RSS_GROWTH_GOAL_MB &&
          slow.session_rss_mb.max - slow.session_rss_mb.start < RSS_GROWTH_GOAL_MB &&
          slow.bytes_read > 0 &&
          slow.content_ok
      }
    }
  } finally {
    await cleanUp(() => devnet?.close())
  }
}

await run(main, { deadlineMs: CFG.deadlineMs })
