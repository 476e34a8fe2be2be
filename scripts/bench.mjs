#!/usr/bin/env node
// `pnpm bench`: the numbers behind 2020117's performance goals, measured on the local network.
//
// The devnet (DHT bootstrap, relay, wallet, demo WebUI) runs in this process on free loopback
// ports; the provider (2020117-agent), the customers (2020117-session) and the helpers in
// scripts/bench/ are separate processes. Prints ONE JSON object on stdout; progress goes to stderr.
// Exit 0 when everything was measured (whether or not a goal was met), 1 when something could not
// be measured, 2 when the build is missing.
//
// BENCH_ONLY selects parts, comma-separated: `tunnel`, `rss`, `jobs`, `relay` (default: all four).
//
// The devnet's relay runs here without proof of work and with its rate limits raised: the session
// and job figures are about the tunnel and the jobs, and the job customer (scripts/bench/
// job-customer.mjs) sends requests no miner stands behind. The relay's own figures come from a
// 2020117-relay of their own with the network's policy.
//
// Units: MB = 1e6 bytes, GB = 1e9 bytes; RSS in MiB (VmRSS / 1024). Percentiles are nearest-rank.
//
// The tunnel part compares three paths to the same upstream (the devnet WebUI) on the same
// loopback testnet, in paired rounds (the order alternates each round) so that both tunnels see
// the same machine load:
//   raw       the raw Hyperswarm stream between two processes (scripts/bench/raw-stream.mjs):
//             256 MiB in 64 KiB writes, receiver side, first byte to last.
//   reference the thinnest TCP -> HyperDHT stream -> TCP pipe (scripts/bench/ref-tunnel.mjs,
//             hypertele-shaped, as holesail is): a DHT connection per TCP connection, no parsing,
//             no payment.
//   tunnel    this project: HTTP client -> 2020117-session -> Hyperswarm -> 2020117-agent -> WebUI.
// For each round and path: GET /download?bytes=256 MiB (a separate client process), MB/s from
// request start to last byte; CPU-seconds per GB of the processes on the path (utime + stime from
// /proc/PID/stat, before and after: session + agent, or the reference's client + server; neither
// the HTTP client nor the upstream); GCs per GB in those processes (node --trace-gc lines:
// scavenges and mark-compacts). Ratios tunnel / reference per round, and their median.
// Also, for the tunnel, the reference and the WebUI directly:
//   get_ms      200 keep-alive GET /download?bytes=8192 one after another on one connection, the
//               FULL response (request start to last byte): p50 and p99. 200 more go first on the
//               same connection, uncounted, as a page of hundreds of assets warms a path up. The
//               tunnel and the reference in paired rounds, as the downloads (the order alternates,
//               a new connection each round): p50 and p99 over all rounds, the CPU-µs per GET of
//               the path's processes, and the median of the rounds' ratios. (Both paths keep getting
//               faster for about 1,500 GETs as V8 and the machine warm up: measured first and
//               alone, a path would be judged on that.) The WebUI directly once, for scale.
//   concurrent_ms  50 GET /healthz at once, each on a new connection: start to the last done.
// And for the tunnel alone:
//   setup_ms    spawning the session CLI -> first byte of GET /healthz sent the moment it prints
//               "tunnel open" (node start-up, DHT connect, skill exchange, session start, paying
//               tick 0 and its receipt); open_ms is when it printed "tunnel open".
//   tick_rtt_ms the billing frames' round trip through the tunnel: the agent's "tick sent seq=N"
//               to its "tick acked seq=N" log lines, stamped on arrival by scripts/bench/stamp.mjs,
//               less the heldMs the customer logs with "tick ack sent" (its checks and payment, timed
//               in its own process). idle: no traffic; loaded: during 1 GiB downloads through
//               the tunnel. Tick 0 (start-up) is not counted. These come from an agent and session
//               of their own with 1 s ticks (many ticks quickly); everything above is measured
//               through an agent with the default 60 s ticks, as a provider runs it (tick_seconds
//               says both; BENCH_TUNNEL_TICK_SECONDS=1 measures it all under 1 s ticks instead).
//   tick_cycle_ms  the whole billing cycle of the same ticks, "tick sent" to "tick paid": the
//               frames, the customer's checks, its NWC payment and the agent's settlement lookup
//               (two NWC round trips through the devnet wallet, which runs in this process).
// The rss part:
//   provider_rss_mb  VmRSS of an agent (60 s ticks, --max-sessions=20) with 1 session, then with
//               20 concurrent sessions (each after its "tunnel open" and one request through it).
// The jobs part:
//   job_ms      NIP-90 jobs: request published -> result received, for a trivial job (kind 5050,
//               `exec:/bin/cat`, 1 sat, paid first: scripts/bench/job-customer.mjs decodes, checks
//               and pays each invoice through the devnet wallet), 20 jobs one after another.
//   jobs_per_second  80 such jobs, 8 at a time, paid and free (--jobs --free). The paid rate is
//               also bounded by the agent's own flood guard (40 invoices per 10 s).
//   job_agent_rss_mb VmRSS of that agent idle (after ready) and after the paid run.
// The relay part: 2020117-relay's events per second at 0 and 10 bits of proof of work, REQ latency
// with 2k and 100k stored events, mining 10 and 20 bits in the client's worker (scripts/bench/
// relay.mjs says how, and its goals).
//
// Goals (issue 15), checked as ratios from this one run and printed under "goals": download
// ≥ 1.1x the reference at ≤ 1.0x its CPU-seconds per GB; keep-alive GET p50 ≤ 1 ms and ≤ the
// reference's, p99 ≤ 5 ms; 50 concurrent new connections ≤ 0.6x the reference's time; setup
// < 300 ms; loaded tick round trip p99 < 100 ms.
//
// Why a second agent with 60 s ticks for RSS: the number is about what a session costs the
// provider in memory, not about billing. With 20 sessions on 1 s ticks the devnet wallet (in this
// process, ~60 NWC requests/s) falls behind on this kind of machine: lookups time out after 30 s,
// ticks go unpaid past the grace, and the agent rightly suspends the tunnels.
// BENCH_RSS_TICK_SECONDS=1 reproduces that as a billing stress test.

import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import {
  createHarness,
  fromRoot,
  percentile,
  requireBuilt,
  sessionArgs,
  round,
  rssMiB,
  stop,
  TUNNEL_OPEN
} from './lib/harness.mjs'
import { relayFigures } from './bench/relay.mjs'

const DIST = requireBuilt('bench', {
  devnet: 'packages/devnet/network/dist/index.js',
  swarm: 'packages/swarm/dist/index.js',
  agent: 'apps/agent/dist/bin.js',
  session: 'apps/session/dist/bin.js',
  relay: 'apps/relay/dist/bin.js'
})
const HELPERS = {
  raw: fromRoot('scripts/bench/raw-stream.mjs'),
  ref: fromRoot('scripts/bench/ref-tunnel.mjs'),
  get: fromRoot('scripts/bench/http-get.mjs'),
  jobs: fromRoot('scripts/bench/job-customer.mjs')
}
const PARTS = new Set((process.env.BENCH_ONLY || 'tunnel,rss,jobs,relay').split(',').map((p) => p.trim()))

const MiB = 1024 * 1024
const RAW_BYTES = 256 * MiB
const RAW_CHUNK = 64 * 1024
const DOWNLOAD_BYTES = 256 * MiB
const WARMUP_BYTES = 32 * MiB
const LOADED_BYTES = 1024 * MiB
const GET_REQUESTS = 200
const GET_WARMUP = 200
const GET_PATH = '/download?bytes=8192'
const CONCURRENT = 50
/** Paired rounds (raw, reference and tunnel each round); medians are reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
/**
 * Tick length of the agent measured for speed, CPU, GETs, connections and setup: the agent's
 * default, as a provider runs it (BENCH_TUNNEL_TICK_SECONDS=1 measures them under a billing stress).
 */
const TUNNEL_TICK_SECONDS = Number(process.env.BENCH_TUNNEL_TICK_SECONDS ?? 60)
/** Tick length of the agent whose tick round trips are measured: short, for many ticks quickly. */
const TICKS_TICK_SECONDS = 1
const IDLE_TICKS = 20
const LOADED_TICKS = 30
const MAX_LOADED_DOWNLOADS = 4
const SESSIONS = 20
/** Tick length of the RSS agent; BENCH_RSS_TICK_SECONDS overrides it (e.g. 1, as a billing stress). */
const RSS_TICK_SECONDS = Number(process.env.BENCH_RSS_TICK_SECONDS ?? 60)
const SEQUENTIAL_JOBS = 20
const CONCURRENT_JOBS = 80
const JOB_CONCURRENCY = 8
const TOTAL_DEADLINE_MS = 600_000
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
/** What node --trace-gc prints for each collection. */
const GC_LINE = /\b(Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)\b/

// Child processes: see scripts/lib/harness.mjs. The tick round trips come from the agent's log
// lines stamped by scripts/bench/stamp.mjs (spawnNode's `stamped`).
const harness = createHarness({
  name: 'bench',
  waitMs: 30_000
})
const { progress, tempDir, spawnNode, waitLine, waitJson, cleanUp, run } = harness

// -- measurements -----------------------------------------------------------------------------------

/** One GET; resolves at its last byte with the time to the first byte (`at`) and to the last (`ms`). */
function get(url, agent) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const req = http.get(url, { agent }, (res) => {
      const at = performance.now()
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode, at, ttfb: at - started, ms: performance.now() - started }))
      res.on('error', reject)
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${url} timed out`)))
    req.on('error', reject)
  })
}

/**
 * GET_REQUESTS keep-alive GETs one after another on one connection, after GET_WARMUP uncounted:
 * their full response times, and the CPU-µs per counted GET of `pids` (the path's processes).
 */
async function keepAliveGets(base, pids = []) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (let i = 0; i < GET_WARMUP; i++) await get(`${base}${GET_PATH}`, agent)
    const times = []
    const cpuBefore = await cpuSeconds(pids)
    for (let i = 0; i < GET_REQUESTS; i++) {
      const r = await get(`${base}${GET_PATH}`, agent)
      if (r.status !== 200) throw new Error(`GET ${base}${GET_PATH} answered ${r.status}`)
      times.push(r.ms)
    }
    const cpuUs = ((await cpuSeconds(pids)) - cpuBefore) * 1e6
    return { times, cpu_us_per_get: round(cpuUs / GET_REQUESTS, 0) }
  } finally {
    agent.destroy()
  }
}

const spread = (times) => ({
  p50: round(percentile(times, 50), 2),
  p99: round(percentile(times, 99), 2),
  n: times.length
})

/**
 * Keep-alive GETs in paired rounds, as the downloads are: each round measures the reference and
 * the tunnel (the order alternating) on fresh connections, so that neither path is always the one
 * measured first, on a machine and code still warming up. p50 and p99 are over all the rounds'
 * GETs; the ratios are the median of each round's tunnel / reference.
 */
async function pairedGets(reference, tunnel, webui) {
  const all = { reference: [], tunnel: [] }
  const rounds = []
  for (let i = 0; i < ROUNDS; i++) {
    const r = {}
    for (const path of i % 2 === 0 ? [reference, tunnel] : [tunnel, reference]) {
      const { times, cpu_us_per_get } = await keepAliveGets(path.base, path.pids())
      all[path.name].push(...times)
      r[path.name] = { ...spread(times), cpu_us_per_get }
    }
    r.p50_ratio = round(r.tunnel.p50 / r.reference.p50, 3)
    r.cpu_ratio = round(r.tunnel.cpu_us_per_get / r.reference.cpu_us_per_get, 3)
    progress(
      `  round ${i + 1}: reference p50 ${r.reference.p50} ms, ${r.reference.cpu_us_per_get} CPU-µs/GET; tunnel p50 ` +
        `${r.tunnel.p50} ms, ${r.tunnel.cpu_us_per_get} CPU-µs/GET; ratios ${r.p50_ratio}x p50, ${r.cpu_ratio}x CPU`
    )
    rounds.push(r)
  }
  const median = (f) => round(percentile(rounds.map(f), 50), 3)
  const cpu = (name) => median((r) => r[name].cpu_us_per_get)
  return {
    tunnel: { ...spread(all.tunnel), cpu_us_per_get: cpu('tunnel') },
    reference: { ...spread(all.reference), cpu_us_per_get: cpu('reference') },
    direct: spread((await keepAliveGets(webui)).times),
    ratios: { p50: median((r) => r.p50_ratio), cpu_us_per_get: median((r) => r.cpu_ratio) },
    rounds
  }
}

/** CONCURRENT GETs at once, each on a new connection: ms until the last is done. */
async function concurrentGets(base) {
  const started = performance.now()
  const results = await Promise.all(Array.from({ length: CONCURRENT }, () => get(`${base}/healthz`, false)))
  const bad = results.find((r) => r.status !== 200)
  if (bad) throw new Error(`a concurrent GET ${base}/healthz answered ${bad.status}`)
  return round(performance.now() - started, 1)
}

/** CPU-seconds (user + system) used so far by `pids`, from /proc/PID/stat. */
async function cpuSeconds(pids) {
  let ticks = 0
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after "(comm)": state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / CLK_TCK
}

/** Counts the GCs that node --trace-gc reports on each child's stdout, from now on. */
function gcCounter(children) {
  const counts = { scavenge: 0, mark_compact: 0 }
  for (const c of children) {
    c.onLine(({ text, stream }) => {
      const m = stream === 'stdout' && GC_LINE.exec(text)
      if (!m) return
      if (m[1] === 'Scavenge') counts.scavenge++
      else counts.mark_compact++
    })
  }
  return counts
}

/** A GET in a separate process (scripts/bench/http-get.mjs); resolves with its result. */
async function download(url, ms = 180_000) {
  const c = spawnNode('http-get', HELPERS.get, [url])
  const started = Date.now()
  const result = await waitJson(c, (v) => 'bytes' in v, { ms })
  await c.exited
  if (result.status !== 200) throw new Error(`GET ${url} answered ${result.status}`)
  return { ...result, startedAt: started, endedAt: Date.now() }
}

/** One download through a path, with the CPU and GCs of its processes per GB. */
async function measuredDownload(path, bytes) {
  const gcBefore = { ...path.gc }
  const cpuBefore = await cpuSeconds(path.pids())
  const r = await download(`${path.base}/download?bytes=${bytes}`)
  const cpu = (await cpuSeconds(path.pids())) - cpuBefore
  if (r.bytes !== bytes) throw new Error(`${path.name}: the download returned ${r.bytes} bytes, not ${bytes}`)
  const gb = bytes / 1e9
  return {
    mb_s: round(r.mb_s),
    cpu_s_per_gb: round(cpu / gb, 2),
    scavenges_per_gb: round((path.gc.scavenge - gcBefore.scavenge) / gb, 1),
    mark_compacts_per_gb: round((path.gc.mark_compact - gcBefore.mark_compact) / gb, 1)
  }
}

async function rawStream(bootstrap) {
  const rx = spawnNode('raw-receive', HELPERS.raw, ['receive', bootstrap, String(RAW_BYTES)])
  const ready = await waitJson(rx, (v) => v.event === 'ready')
  const tx = spawnNode('raw-send', HELPERS.raw, [
    'send',
    bootstrap,
    ready.publicKey,
    String(RAW_BYTES),
    String(RAW_CHUNK)
  ])
  const result = await waitJson(rx, (v) => v.event === 'result', { ms: 120_000 })
  await Promise.all([rx.exited, tx.exited])
  return round(result.mb_s)
}

/** The reference tunnel's server and client processes (scripts/bench/ref-tunnel.mjs), with GC tracing. */
async function startReference(bootstrap, webui) {
  const upstream = new URL(webui)
  const server = spawnNode('ref-server', HELPERS.ref, ['server', bootstrap, upstream.host], {
    nodeArgs: ['--trace-gc']
  })
  const { publicKey } = await waitJson(server, (v) => v.event === 'ready')
  const client = spawnNode('ref-client', HELPERS.ref, ['client', bootstrap, publicKey], { nodeArgs: ['--trace-gc'] })
  const { port } = await waitJson(client, (v) => v.event === 'ready')
  const base = `http://127.0.0.1:${port}`
  const first = await get(`${base}/healthz`, false)
  if (first.status !== 200) throw new Error(`GET /healthz through the reference tunnel answered ${first.status}`)
  return {
    name: 'reference',
    base,
    gc: gcCounter([server, client]),
    pids: () => [server.pid, client.pid],
    stop: () => Promise.all([stop(client), stop(server)])
  }
}

/** Tick round trips from the agent's stamped log lines, per session and seq. */
function trackTicks(agent) {
  const ticks = new Map() // `${session}:${seq}` -> { session, seq, sent, acked, paid }
  const held = new Map() // seq -> ms the (one) customer held the tick before its ack
  const sessions = []
  agent.onLine(({ at, text, stream }) => {
    if (stream !== 'stderr') return
    let m = /tick sent session=(\w+) seq=(\d+)/.exec(text)
    if (m) {
      ticks.set(`${m[1]}:${m[2]}`, { session: m[1], seq: Number(m[2]), sent: at, acked: null, paid: null })
      return
    }
    m = /tick (acked|paid) session=(\w+) seq=(\d+)/.exec(text)
    if (m) {
      const t = ticks.get(`${m[2]}:${m[3]}`)
      if (t && t[m[1]] === null) t[m[1]] = at
      return
    }
    m = /session started session=(\w+)/.exec(text)
    if (m) sessions.push(m[1])
  })
  const counted = (session, from, to) => (t) => t.session === session && t.seq >= 1 && t.sent >= from && t.sent <= to
  return {
    sessions,
    /** Reads the customer's "tick ack sent seq=N heldMs=X" lines (its --log-level=debug). */
    watchCustomer(customer) {
      customer.onLine(({ text }) => {
        const m = /tick ack sent seq=(\d+) heldMs=([\d.]+)/.exec(text)
        if (m) held.set(Number(m[1]), Number(m[2]))
      })
    },
    /**
     * Billing cycles (ms, tick sent -> tick paid) of the ticks of `session` with seq ≥ 1 sent
     * within [from, to]; with `now`, a tick still unpaid counts as `now - sent`, else it is left out.
     */
    rtts(session, from, to = Infinity, now = null) {
      return [...ticks.values()]
        .filter((t) => counted(session, from, to)(t) && (t.paid !== null || now !== null))
        .map((t) => (t.paid ?? now) - t.sent)
    },
    /**
     * The billing frames' own round trips (ms) for the same ticks: tick sent -> its ack received,
     * less the time the customer held the tick (its checks and payment).
     */
    frameRtts(session, from, to = Infinity) {
      return [...ticks.values()]
        .filter((t) => counted(session, from, to)(t) && t.acked !== null && held.has(t.seq))
        .map((t) => t.acked - t.sent - held.get(t.seq))
    },
    unpaid(session, from, to) {
      return [...ticks.values()].filter(
        (t) => t.session === session && t.seq >= 1 && t.sent >= from && t.sent <= to && t.paid === null
      ).length
    }
  }
}

function spawnSession(flag, providerKey, { nodeArgs = [], args = [] } = {}) {
  return spawnNode('session', DIST.session, [...sessionArgs(flag, providerKey), ...args], { nodeArgs })
}

/** Resolves once `check()` is true, re-checking on every line the agent prints; bounded by `ms`. */
function untilAgentLine(agent, check, ms, what) {
  return new Promise((resolve, reject) => {
    if (check()) return resolve()
    const listener = () => {
      if (!check()) return
      done()
      resolve()
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`timed out waiting for ${what}`))
    }, ms)
    const off = agent.onLine(listener)
    const done = () => {
      clearTimeout(timer)
      off()
    }
  })
}

// -- the run ----------------------------------------------------------------------------------------

let agentForDiagnostics = null

/** Job figures (see the top): one jobs-only agent, paid then free, and a customer process. */
async function jobFigures(flag, state) {
  const run = async (label, extra) => {
    progress(
      `jobs, ${label}: ${SEQUENTIAL_JOBS} one after another, then ${CONCURRENT_JOBS}, ${JOB_CONCURRENCY} at a time…`
    )
    const agent = spawnNode(`agent-jobs-${label}`, DIST.agent, [
      flag,
      '--no-sessions',
      '--kind=5050',
      '--processor=exec:/bin/cat',
      `--max-jobs=${JOB_CONCURRENCY}`,
      ...extra,
      '--json'
    ])
    agentForDiagnostics = agent
    const ready = await waitJson(agent, (v) => v.event === 'ready', { ms: 60_000 })
    const idle = await rssMiB(agent.pid)
    const customer = spawnNode(`job-customer-${label}`, HELPERS.jobs, [
      JSON.stringify({
        relays: state.relays,
        nwc_uri: state.accounts.customer.nwc_uri,
        provider: ready.pubkey,
        kind: 5050,
        bid_msat: 1000,
        sequential: SEQUENTIAL_JOBS,
        concurrent: CONCURRENT_JOBS,
        concurrency: JOB_CONCURRENCY
      })
    ])
    const out = await waitJson(customer, (v) => Array.isArray(v.sequential_ms), { ms: 240_000 })
    const loaded = await rssMiB(agent.pid)
    await stop(customer)
    await stop(agent)
    const perSecond = round(out.concurrent.jobs / (out.concurrent.ms / 1000), 1)
    progress(`  p50 ${percentile(out.sequential_ms, 50)} ms, ${perSecond} jobs/s, RSS ${idle} → ${loaded} MiB`)
    return { ms: out.sequential_ms, perSecond, idle, loaded }
  }
  const paid = await run('paid', ['--job-price=1'])
  const free = await run('free', ['--jobs', '--free'])
  return {
    job_ms: { p50: percentile(paid.ms, 50), p90: percentile(paid.ms, 90), n: paid.ms.length },
    jobs_per_second: { paid: paid.perSecond, free: free.perSecond, concurrency: JOB_CONCURRENCY },
    job_agent_rss_mb: { idle: paid.idle, after_jobs: paid.loaded }
  }
}

/**
 * The agent (stamped, GC-traced) billing every `tickSeconds`, and one session through it: setup
 * time and the tunnel path.
 */
async function startTunnel(flag, tickSeconds) {
  progress(`starting the agent (5 sats/min, ${tickSeconds} s ticks, ${SESSIONS} session slots, debug log)…`)
  const agent = spawnNode(
    'agent',
    DIST.agent,
    [
      flag,
      '--sats-per-minute=5',
      `--tick-seconds=${tickSeconds}`,
      '--grace-seconds=10',
      `--max-sessions=${SESSIONS}`,
      '--log-level=debug',
      '--json'
    ],
    { stamped: true, nodeArgs: ['--trace-gc'] }
  )
  agentForDiagnostics = agent
  const ticks = trackTicks(agent)
  const ready = await waitJson(agent, (v) => v.event === 'ready', { ms: 60_000 })

  progress('setup: spawning the session CLI until the first byte through its tunnel…')
  const customer = spawnSession(flag, ready.swarm_key, { nodeArgs: ['--trace-gc'], args: ['--log-level=debug'] })
  ticks.watchCustomer(customer)
  const open = await waitLine(customer, TUNNEL_OPEN, { stream: 'stderr', ms: 60_000 })
  const base = open.match[1]
  const first = await get(`${base}/healthz`)
  if (first.status !== 200) throw new Error(`GET /healthz through the tunnel answered ${first.status}`)
  const setup = {
    ms: round(first.at - customer.spawnedAt, 0),
    open_ms: round(open.at - (performance.timeOrigin + customer.spawnedAt), 0)
  }
  progress(`  ${setup.ms} ms ("tunnel open" printed after ${setup.open_ms} ms)`)
  const session = ticks.sessions[0]
  if (!session) throw new Error('the agent logged no session start')
  return {
    name: 'tunnel',
    base,
    gc: gcCounter([agent, customer]),
    pids: () => [agent.pid, customer.pid],
    stop: () => Promise.all([stop(customer), stop(agent)]),
    agent,
    ticks,
    session,
    setup,
    tickSeconds
  }
}

/** Paired rounds: raw stream, then the reference and the tunnel in alternating order. */
async function pairedRounds(bootstrap, reference, tunnel) {
  progress(`warm-up: ${WARMUP_BYTES / MiB} MiB through each tunnel (not counted)…`)
  await download(`${reference.base}/download?bytes=${WARMUP_BYTES}`)
  await download(`${tunnel.base}/download?bytes=${WARMUP_BYTES}`)
  const rounds = []
  for (let i = 0; i < ROUNDS; i++) {
    const raw = await rawStream(bootstrap)
    const order = i % 2 === 0 ? [reference, tunnel] : [tunnel, reference]
    const r = { raw_mb_s: raw }
    for (const path of order) r[path.name] = await measuredDownload(path, DOWNLOAD_BYTES)
    r.mb_s_ratio = round(r.tunnel.mb_s / r.reference.mb_s, 3)
    r.cpu_ratio = round(r.tunnel.cpu_s_per_gb / r.reference.cpu_s_per_gb, 3)
    progress(
      `  round ${i + 1}: raw ${raw} MB/s; reference ${r.reference.mb_s} MB/s ${r.reference.cpu_s_per_gb} CPU-s/GB; ` +
        `tunnel ${r.tunnel.mb_s} MB/s ${r.tunnel.cpu_s_per_gb} CPU-s/GB; ratios ${r.mb_s_ratio}x speed, ${r.cpu_ratio}x CPU`
    )
    rounds.push(r)
  }
  const median = (f) => round(percentile(rounds.map(f), 50), 3)
  const summary = (name) => ({
    mb_s: median((r) => r[name].mb_s),
    cpu_s_per_gb: median((r) => r[name].cpu_s_per_gb),
    scavenges_per_gb: median((r) => r[name].scavenges_per_gb),
    mark_compacts_per_gb: median((r) => r[name].mark_compacts_per_gb)
  })
  return {
    raw: { mb_s: median((r) => r.raw_mb_s) },
    reference: summary('reference'),
    tunnel: summary('tunnel'),
    ratios: { mb_s: median((r) => r.mb_s_ratio), cpu_s_per_gb: median((r) => r.cpu_ratio) },
    rounds
  }
}

/** Idle ticks, then ticks during saturating downloads through the tunnel. */
async function tickFigures(tunnel) {
  const { agent, ticks, session } = tunnel
  progress(`tick round trips, idle: waiting for ${IDLE_TICKS} ticks…`)
  const idleFrom = performance.timeOrigin + performance.now()
  await untilAgentLine(
    agent,
    () => ticks.rtts(session, idleFrom).length >= IDLE_TICKS,
    (IDLE_TICKS + 15) * 1000,
    `${IDLE_TICKS} idle ticks`
  )
  const idle = ticks.rtts(session, idleFrom)
  const idleFrames = ticks.frameRtts(session, idleFrom)
  progress(`tick round trips, loaded: ${LOADED_BYTES / MiB} MiB downloads until ${LOADED_TICKS} ticks…`)
  let loaded = []
  let loadedFrames = []
  for (let i = 0; i < MAX_LOADED_DOWNLOADS && loaded.length < LOADED_TICKS; i++) {
    const from = performance.timeOrigin + performance.now()
    const r = await download(`${tunnel.base}/download?bytes=${LOADED_BYTES}`)
    if (r.bytes !== LOADED_BYTES) throw new Error(`a loaded download returned ${r.bytes} bytes`)
    // Ticks sent during the download; the last one's payment may complete just after it. One
    // still unpaid after 10 s counts with its wait so far (a lower bound), not as missing.
    const to = performance.timeOrigin + performance.now()
    await untilAgentLine(agent, () => ticks.unpaid(session, from, to) === 0, 10_000, 'the loaded ticks').catch(() => {})
    loaded = loaded.concat(ticks.rtts(session, from, to, performance.timeOrigin + performance.now()))
    loadedFrames = loadedFrames.concat(ticks.frameRtts(session, from, to))
    progress(`  download ${i + 1}: ${r.mb_s.toFixed(1)} MB/s, ${loaded.length} loaded ticks so far`)
  }
  if (loaded.length === 0) throw new Error('no tick was paid during the loaded downloads')
  const stats = (v) => ({ p50: round(percentile(v, 50)), p99: round(percentile(v, 99)), n: v.length })
  if (loadedFrames.length === 0) throw new Error('no tick ack of the loaded downloads was matched to the customer')
  return {
    frames: { idle: stats(idleFrames), loaded: stats(loadedFrames) },
    cycles: { idle: stats(idle), loaded: stats(loaded) }
  }
}

/** The tunnel part (see the top): the tunnel beside the reference and the raw stream. */
async function tunnelFigures(flag, bootstrap, webui) {
  const tunnel = await startTunnel(flag, TUNNEL_TICK_SECONDS)
  progress('starting the reference tunnel (TCP -> HyperDHT -> TCP)…')
  const reference = await startReference(bootstrap, webui)
  const paired = await pairedRounds(bootstrap, reference, tunnel)
  progress(`keep-alive GETs (${GET_REQUESTS} × ${GET_PATH} a round, full response), in paired rounds…`)
  const gets = await pairedGets(reference, tunnel, webui)
  progress(`  direct: p50 ${gets.direct.p50} ms, p99 ${gets.direct.p99} ms`)
  progress(`${CONCURRENT} concurrent new connections…`)
  const concurrent = {}
  for (const [name, base] of [
    ['tunnel', tunnel.base],
    ['reference', reference.base],
    ['direct', webui]
  ]) {
    concurrent[name] = await concurrentGets(base)
    progress(`  ${name}: ${CONCURRENT} at once ${concurrent[name]} ms`)
  }
  await reference.stop()
  await tunnel.stop()
  const billed = await startTunnel(flag, TICKS_TICK_SECONDS)
  const ticks = await tickFigures(billed)
  await billed.stop()
  const goals = {
    download_ge_1_1x_reference: paired.ratios.mb_s >= 1.1,
    cpu_per_gb_le_1_0x_reference: paired.ratios.cpu_s_per_gb <= 1.0,
    get_p50_le_1ms_and_le_reference: gets.tunnel.p50 <= 1 && gets.tunnel.p50 <= gets.reference.p50,
    get_p99_le_5ms: gets.tunnel.p99 <= 5,
    concurrent_le_0_6x_reference: concurrent.tunnel <= 0.6 * concurrent.reference,
    setup_lt_300ms: tunnel.setup.ms < 300,
    tick_rtt_loaded_p99_lt_100ms: ticks.frames.loaded.p99 < 100
  }
  return {
    download: paired,
    get_ms: gets,
    concurrent_ms: { ...concurrent, ratio: round(concurrent.tunnel / concurrent.reference, 3), n: CONCURRENT },
    setup_ms: tunnel.setup,
    tick_seconds: { download_get_setup: TUNNEL_TICK_SECONDS, ticks: TICKS_TICK_SECONDS },
    tick_rtt_ms: ticks.frames,
    tick_cycle_ms: ticks.cycles,
    goals
  }
}

/** The rss part (see the top): a fresh agent with long ticks, 1 session then SESSIONS. */
async function rssFigures(flag) {
  progress(`provider RSS: a fresh agent (${RSS_TICK_SECONDS} s ticks, ${SESSIONS} slots), 1 session then ${SESSIONS}…`)
  const rssAgent = spawnNode('agent-rss', DIST.agent, [
    flag,
    '--sats-per-minute=5',
    `--tick-seconds=${RSS_TICK_SECONDS}`,
    '--grace-seconds=30',
    `--max-sessions=${SESSIONS}`,
    '--json'
  ])
  agentForDiagnostics = rssAgent
  const rssReady = await waitJson(rssAgent, (v) => v.event === 'ready', { ms: 60_000 })
  const openSession = async (s) => {
    const { match } = await waitLine(s, TUNNEL_OPEN, { stream: 'stderr', ms: 120_000 })
    const r = await get(`${match[1]}/healthz`)
    if (r.status !== 200) throw new Error(`GET /healthz through a session answered ${r.status}`)
  }
  const sessions = [spawnSession(flag, rssReady.swarm_key)]
  await openSession(sessions[0])
  const rssOne = await rssMiB(rssAgent.pid)
  progress(`  1 session: ${rssOne} MiB; starting ${SESSIONS - 1} more…`)
  for (let i = 1; i < SESSIONS; i++) sessions.push(spawnSession(flag, rssReady.swarm_key))
  await Promise.all(sessions.slice(1).map(openSession))
  const rssTwenty = await rssMiB(rssAgent.pid)
  progress(`  ${SESSIONS} sessions: ${rssTwenty} MiB`)
  await Promise.all(sessions.map((s) => stop(s)))
  await stop(rssAgent)
  return { provider_rss_mb: { one_session: rssOne, twenty_sessions: rssTwenty, tick_seconds: RSS_TICK_SECONDS } }
}

async function main() {
  const result = { parts: [...PARTS] }
  if (['tunnel', 'rss', 'jobs'].some((p) => PARTS.has(p))) Object.assign(result, await devnetFigures())
  if (PARTS.has('relay')) Object.assign(result, await relayPart())
  return result
}

/** The tunnel, RSS and job figures, on a devnet of their own. */
async function devnetFigures() {
  const { startDevnet } = await import(DIST.devnet)
  const dir = tempDir()
  let devnet = null
  try {
    progress('starting the devnet (in this process, loopback, free ports)…')
    devnet = await startDevnet({
      dir,
      dhtPort: 0,
      relayPort: 0,
      webuiPort: 0,
      relayPolicy: { pow: [], eventsPerSecond: 10_000 }
    })
    const flag = `--devnet=${dir}`
    const bootstrap = devnet.state.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
    const webui = devnet.state.webui
    if (!webui) throw new Error('the devnet started without its WebUI')
    const result = {}
    if (PARTS.has('tunnel')) Object.assign(result, await tunnelFigures(flag, bootstrap, webui))
    if (PARTS.has('rss')) Object.assign(result, await rssFigures(flag))
    if (PARTS.has('jobs')) Object.assign(result, await jobFigures(flag, devnet.state))
    return result
  } finally {
    await cleanUp(() => devnet?.close())
  }
}

/** 2020117-relay's own figures, and its goals beside the others. */
async function relayPart() {
  try {
    const { relay, relay_goals } = await relayFigures(harness)
    return { relay, relay_goals }
  } finally {
    await cleanUp()
  }
}

await run(main, {
  deadlineMs: TOTAL_DEADLINE_MS,
  onError: () => {
    if (agentForDiagnostics)
      process.stderr.write(
        `--- last lines of the agent's log ---\n${agentForDiagnostics
          .lines('stderr')
          .slice(-40)
          .map((l) => l.text)
          .join('\n')}\n`
      )
  }
})
