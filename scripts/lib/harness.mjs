// The process harness of the measurement scripts (scripts/bench.mjs, scripts/load.mjs): checks
// that the build is there, spawns the built bins and helper scripts as separate node processes,
// keeps their output lines and waits on them, reads a process's VmRSS, and on every way out (done,
// error, deadline, SIGINT/SIGTERM) kills what it spawned and removes its temp dirs.
//
// Each child runs detached, in a process group of its own: killing the group (SIGKILL to -pid)
// also reaches whatever the child spawned in turn (stamp.mjs's child, for one), and a Ctrl-C in the
// terminal reaches only this process, which then kills every group itself. Each child also gets a
// throwaway HOME and a KEYS_AGENT of its own, so it has its own identity and never touches the
// user's keys file.
//
//   const DIST = requireBuilt('bench', { agent: 'apps/agent/dist/bin.js' })  // exit 2 if missing
//   const { spawnNode, waitLine, waitJson, cleanUp, run, ... } = createHarness({ name: 'bench', waitMs: 30_000 })

import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root, with a trailing slash. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const fromRoot = (rel) => join(ROOT, rel)

const STAMP = fromRoot('scripts/bench/stamp.mjs')

/** What a session CLI prints on stderr once its tunnel is up; group 1 is the tunnel's URL. */
export const TUNNEL_OPEN = /tunnel open: (http:\/\/127\.0\.0\.1:\d+)/

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

/** VmRSS of `pid` in MiB (one decimal), from /proc. */
export async function rssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1])
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for pid ${pid}`)
  return round(kb / 1024)
}

/** `text` parsed as JSON when it is an object that satisfies `pred`, else null. */
export function parseJson(text, pred) {
  try {
    const v = JSON.parse(text)
    return v && typeof v === 'object' && pred(v) ? v : null
  } catch {
    return null
  }
}

/** The last lines a child printed, for error messages. */
export const tail = (child) => [...child.stderr.slice(-15), ...child.stdout.slice(-3)].map((l) => l.text).join('\n')

/** SIGKILL to the child's whole process group. */
export function killGroup(child) {
  try {
    process.kill(-child.proc.pid, 'SIGKILL')
  } catch {}
}

/** Asks a child to stop (SIGINT to the process itself), then kills its group if it lingers `ms`. */
export async function stop(child, ms = 5000) {
  if (child.exitCode !== undefined) return
  try {
    child.proc.kill('SIGINT')
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
   * Spawns `node script args` detached, in its own process group, and keeps its output lines as
   * `{ at, text }` (`at`: epoch ms of arrival) in `child.stdout` / `child.stderr`; `child.listeners`
   * are called with `(line, stream)` for each. With `stamped`, the child runs under
   * scripts/bench/stamp.mjs: `at` of its stderr lines is when stamp.mjs received them, and `pid`
   * becomes the real child's pid once stamp.mjs reports it.
   */
  function spawnNode(childName, script, args, { stamped = false } = {}) {
    const argv = stamped ? [STAMP, script, ...args] : [script, ...args]
    const env = { ...process.env, HOME: childHome(), KEYS_AGENT: `${childName}-${++spawned}` }
    const proc = spawn(process.execPath, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      cwd: childHome(),
      env
    })
    const child = {
      name: childName,
      proc,
      pid: proc.pid,
      spawnedAt: performance.now(),
      stdout: [],
      stderr: [],
      waiters: [],
      listeners: [],
      exitCode: undefined,
      exited: null
    }
    child.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        child.exitCode = code ?? signal
        children.delete(child)
        for (const w of child.waiters.splice(0)) {
          clearTimeout(w.timer)
          w.reject(new Error(`${childName} exited (${code ?? signal}) before printing ${w.what}\n${tail(child)}`))
        }
        resolve(code ?? signal)
      })
    )
    const feed = (stream) => {
      let partial = ''
      proc[stream].setEncoding('utf8')
      proc[stream].on('data', (chunk) => {
        const arrived = performance.timeOrigin + performance.now()
        partial += chunk
        const lines = partial.split('\n')
        partial = lines.pop()
        for (let text of lines) {
          let at = arrived
          if (stamped && stream === 'stderr') {
            const pid = /^@pid (\d+)$/.exec(text)
            if (pid) {
              child.pid = Number(pid[1])
              continue
            }
            const m = /^(\d+(?:\.\d+)?) (.*)$/.exec(text)
            if (m) {
              at = Number(m[1])
              text = m[2]
            }
          }
          const line = { at, text }
          child[stream].push(line)
          if (child[stream].length > 5000) child[stream].splice(0, 1000)
          for (const l of child.listeners) l(line, stream)
          for (const w of [...child.waiters]) {
            const match = (w.stream === 'any' || w.stream === stream) && w.test(text)
            if (match) {
              child.waiters.splice(child.waiters.indexOf(w), 1)
              clearTimeout(w.timer)
              w.resolve({ match, at, line: text })
            }
          }
        }
      })
    }
    feed('stdout')
    feed('stderr')
    children.add(child)
    return child
  }

  /**
   * The first line (already printed or to come) of `stream` ('stdout', 'stderr' or 'any') for
   * which `test` is truthy, as `{ match, at, line }` (`match`: what `test` returned); rejects after
   * `ms` or when the child exits first.
   */
  function waitFor(child, test, what, { stream = 'any', ms = waitMs } = {}) {
    for (const s of stream === 'any' ? ['stdout', 'stderr'] : [stream]) {
      for (const { at, text } of child[s]) {
        const match = test(text)
        if (match) return Promise.resolve({ match, at, line: text })
      }
    }
    if (child.exitCode !== undefined)
      return Promise.reject(
        new Error(`${child.name} has exited (${child.exitCode}) without printing ${what}\n${tail(child)}`)
      )
    return new Promise((resolve, reject) => {
      const w = { test, what, stream, resolve, reject }
      w.timer = setTimeout(() => {
        child.waiters.splice(child.waiters.indexOf(w), 1)
        reject(new Error(`${child.name}: nothing printed ${what} within ${ms} ms\n${tail(child)}`))
      }, ms)
      child.waiters.push(w)
    })
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
