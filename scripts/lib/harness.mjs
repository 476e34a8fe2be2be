// The process harness of the measurement scripts (scripts/bench.mjs, scripts/load.mjs): checks
// that the build is there, spawns the built bins and helper scripts as separate node processes
// (spawnProcess from @2020117/testkit, which keeps their output lines and waits on them), reads a
// process's VmRSS, and on every way out (done, error, deadline, SIGINT/SIGTERM) kills what it
// spawned and removes its temp dirs.
//
// Each child runs detached, in a process group of its own: killing the group (SIGKILL to -pid)
// also reaches whatever the child spawned in turn (stamp.mjs's child, for one), and a Ctrl-C in the
// terminal reaches only this process, which then kills every group itself. Each child also gets a
// throwaway HOME and a KEYS_AGENT of its own, so it has its own identity and never touches the
// user's keys file.
//
//   const DIST = requireBuilt('bench', { agent: 'apps/agent/dist/bin.js' })  // exit 2 if missing
//   const { spawnNode, waitLine, waitJson, cleanUp, run, ... } = createHarness({ name: 'bench', waitMs: 30_000 })

import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The testkit is built with the rest (its package exports point at dist/): without a build, say so.
const { spawnProcess, parseJson } = await import('@2020117/testkit/process').catch(() => {
  process.stderr.write(
    `${basename(process.argv[1] ?? 'harness')}: @2020117/testkit is not built: build first with \`npx tsc -b\` (or \`pnpm build\`)\n`
  )
  process.exit(2)
})

/** The repository root, with a trailing slash. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const fromRoot = (rel) => join(ROOT, rel)

const STAMP = fromRoot('scripts/bench/stamp.mjs')

/** What a session CLI prints on stderr once its tunnel is up; group 1 is the tunnel's URL. */
export const TUNNEL_OPEN = /tunnel open: (http:\/\/127\.0\.0\.1:\d+)/

/** The arguments of a 2020117-session the bench and the load test start: 1000 sats, any port, no prompt, JSON. */
export const sessionArgs = (flag, swarmKey) => [
  flag,
  '--budget=1000',
  '--port=0',
  '--yes',
  '--no-repl',
  '--json',
  '--discovery-timeout=60',
  `--swarm-key=${swarmKey}`
]

/**
 * `{ key: path relative to ROOT }` -> `{ key: absolute path }`; when one is missing, says so on
 * stderr (prefixed `${script}:`) and exits 2.
 */
export function requireBuilt(script, files) {
  const dist = {}
  for (const [name, rel] of Object.entries(files)) {
    dist[name] = fromRoot(rel)
    if (!existsSync(dist[name])) {
      process.stderr.write(
        `${script}: ${rel} is missing (${name}): build first with \`npx tsc -b\` (or \`pnpm build\`) from ${ROOT}\n`
      )
      process.exit(2)
    }
  }
  return dist
}

export const round = (v, digits = 1) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits)

/** The nearest-rank percentile `p` (0–100) of `values`; null when there are none. */
export function percentile(values, p) {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/** VmRSS of `pid` in MiB (one decimal), from /proc. */
export async function rssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1])
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for pid ${pid}`)
  return round(kb / 1024)
}

/** The last lines a child printed, for error messages. */
export const tail = (child) =>
  [...child.lines('stderr').slice(-15), ...child.lines('stdout').slice(-3)].map((l) => l.text).join('\n')

/** A stderr line of scripts/bench/stamp.mjs read back: `@pid <pid>` names the real child, `<ms> <text>` a line. */
function unstamp(child, line) {
  if (line.stream !== 'stderr') return line
  const pid = /^@pid (\d+)$/.exec(line.text)
  if (pid) {
    child.pid = Number(pid[1])
    return null
  }
  const m = /^(\d+(?:\.\d+)?) (.*)$/.exec(line.text)
  return m ? { ...line, at: Number(m[1]), text: m[2] } : line
}

/** SIGKILL to the child's whole process group. */
export function killGroup(child) {
  try {
    process.kill(-child.child.pid, 'SIGKILL')
  } catch {}
}

/** Asks a child to stop (SIGINT to the process itself), then kills its group if it lingers `ms`. */
export async function stop(child, ms = 5000) {
  if (child.exitCode !== undefined) return
  try {
    child.kill('SIGINT')
  } catch {}
  const timer = setTimeout(() => killGroup(child), ms)
  await child.exited
  clearTimeout(timer)
}

/**
 * The harness of one script run. `name` prefixes progress lines (`[name] …`), messages
 * (`name: …`) and temp dirs (`2020117-name-…`); `waitMs` is the default timeout of the waits.
 * Installs the exit and SIGINT/SIGTERM hooks that kill every child group and remove the temp dirs.
 */
export function createHarness({ name, waitMs = 30_000 }) {
  const progress = (msg) => process.stderr.write(`[${name}] ${msg}\n`)

  /** Temp dirs to remove on the way out, also when interrupted. */
  const tempDirs = new Set()
  /** A new temp dir `2020117-<name>-<suffix>XXXXXX`, removed by removeTempDirs() and on exit. */
  function tempDir(suffix = '') {
    const dir = mkdtempSync(join(os.tmpdir(), `2020117-${name}-${suffix}`))
    tempDirs.add(dir)
    return dir
  }
  function removeTempDirs() {
    for (const d of tempDirs) {
      try {
        rmSync(d, { recursive: true, force: true })
      } catch {}
    }
    tempDirs.clear()
  }

  let home = null
  const childHome = () => (home ??= tempDir('home-'))

  const children = new Set()
  let spawned = 0

  /**
   * Spawns `node script args` detached, in its own process group (spawnProcess: its output lines
   * are `{ text, stream, at }`, `at` the epoch ms of arrival). With `stamped`, the child runs under
   * scripts/bench/stamp.mjs: `at` of its stderr lines is when stamp.mjs received them, and `pid`
   * becomes the real child's pid once stamp.mjs reports it. `nodeArgs` (e.g. `--trace-gc`) go to
   * the node that runs `script` (through stamp.mjs, to its child only).
   */
  function spawnNode(childName, script, args, { stamped = false, nodeArgs = [] } = {}) {
    const argv = stamped ? [STAMP, script, ...args] : [...nodeArgs, script, ...args]
    const env = { ...process.env, HOME: childHome(), KEYS_AGENT: `${childName}-${++spawned}` }
    if (stamped && nodeArgs.length > 0) env.STAMP_NODE_ARGS = nodeArgs.join(' ')
    const child = spawnProcess(process.execPath, argv, {
      name: childName,
      cwd: childHome(),
      env,
      detached: true,
      keepLines: 5000,
      mapLine: stamped ? (line) => unstamp(child, line) : undefined
    })
    children.add(child)
    void child.exited.then(() => children.delete(child))
    return child
  }

  /**
   * The first line (already printed or to come) of `stream` ('stdout', 'stderr' or 'any') for
   * which `test` is truthy, as `{ match, at, line }` (`match`: what `test` returned); rejects after
   * `ms` or when the child exits first.
   */
  async function waitFor(child, test, what, { stream = 'any', ms = waitMs } = {}) {
    const { line, match } = await child.find(test, { stream, what, timeoutMs: ms })
    return { match, at: line.at, line: line.text }
  }

  /** waitFor a line matching `re`; `match` is the RegExp match. */
  const waitLine = (child, re, opts) => waitFor(child, (text) => re.exec(text), `a line matching ${re}`, opts)

  /** The first JSON object on stdout (already printed or to come) that satisfies `pred`. */
  async function waitJson(child, pred, { what = 'the JSON line expected', ms } = {}) {
    const { match } = await waitFor(child, (text) => parseJson(text, pred), what, { stream: 'stdout', ms })
    return match
  }

  function killAll() {
    for (const c of children) killGroup(c)
  }

  /**
   * The end of a run, also after an error: kills every child group and waits for them to exit,
   * then awaits `close()` (e.g. the devnet's; a failure there is ignored), then removes the temp dirs.
   */
  async function cleanUp(close) {
    killAll()
    await Promise.all([...children].map((c) => c.exited))
    await Promise.resolve()
      .then(close)
      .catch(() => {})
    removeTempDirs()
  }

  process.on('exit', () => {
    killAll()
    removeTempDirs()
  })
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      progress(`${sig}: stopping`)
      process.exit(130) // the exit hook kills the groups and removes the temp dirs
    })
  }

  /**
   * Runs `main` under a deadline: prints its result, with `node`, `cpus` and `date` added at the
   * end, as ONE JSON line on stdout and exits 0; if it throws, calls `onError` (for diagnostics),
   * says why on stderr and exits 1; exits 1 too when it is not done after `deadlineMs`.
   */
  async function run(main, { deadlineMs, onError }) {
    const deadline = setTimeout(() => {
      process.stderr.write(`${name}: not done after ${deadlineMs / 1000} s; giving up\n`)
      process.exit(1)
    }, deadlineMs)
    try {
      const result = {
        ...(await main()),
        node: process.version,
        cpus: os.cpus().length,
        date: new Date().toISOString()
      }
      clearTimeout(deadline)
      process.stdout.write(JSON.stringify(result) + '\n')
      process.exit(0)
    } catch (err) {
      clearTimeout(deadline)
      onError?.()
      process.stderr.write(
        `${name}: could not measure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`
      )
      process.exit(1)
    }
  }

  return { progress, tempDir, spawnNode, waitFor, waitLine, waitJson, cleanUp, run }
}
