#!/usr/bin/env node
// Load clients for scripts/load.mjs, each in its own process so that the load does not share an
// event loop with the devnet (in load.mjs's process) that serves it.
//
//   node client.mjs mixed <base> <http> <ws>
//       <http> concurrent HTTP requests through the tunnel at <base>, one connection each, in turn
//       GET / (the page), POST /sdapi/v1/txt2img (64x64, PNG checked) and
//       GET /download?bytes=1048576 (length and SHA-256 checked); plus <ws> concurrent Gradio 3
//       jobs on the /queue/join WebSocket (not paced: every progress step, then an image).
//       Prints {"http_ok","http_errors","ws_ok","ws_errors","seconds","error_samples"}.
//
//   node client.mjs slow <url> <bytes_per_second> <seconds>
//       GET <url> and read it at about <bytes_per_second> by pausing and resuming the response;
//       prints {"event":"reading"} once the headers are in, {"event":"done","bytes_read",
//       "content_ok","status"} after <seconds> (or at the end of the body), then exits.
//       The bytes are checked against the demo WebUI's download generator as they arrive.

import http from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const require = createRequire(`${ROOT}packages/devnet/webui/package.json`)
const { WebSocket } = require('ws')
const { probeDownload, probeTxt2img } = await import(`${ROOT}packages/devnet/webui/dist/testing.js`)
const { downloadChunks } = await import(`${ROOT}packages/devnet/webui/dist/bytes.js`)

const MiB = 1024 * 1024
const ITEM_TIMEOUT_MS = 120_000
const WS_STEPS = 5

const [mode, ...args] = process.argv.slice(2)
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n')

if (mode === 'mixed') await mixed(args[0], Number(args[1]), Number(args[2]))
else if (mode === 'slow') await slow(args[0], Number(args[1]), Number(args[2]))
else {
  process.stderr.write('usage: client.mjs mixed <base> <http> <ws> | slow <url> <bytes_per_second> <seconds>\n')
  process.exit(2)
}

async function mixed(base, httpCount, wsCount) {
  const samples = []
  const note = (what, err) => {
    if (samples.length < 8) samples.push(`${what}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300))
  }
  const started = performance.now()
  const httpJobs = Array.from({ length: httpCount }, (_, i) => {
    const signal = AbortSignal.timeout(ITEM_TIMEOUT_MS)
    const job =
      i % 3 === 0
        ? getPage(base, signal)
        : i % 3 === 1
          ? probeTxt2img(base, { prompt: `load ${i}`, seed: i, width: 64, height: 64, signal })
          : probeDownload(base, MiB, i, { signal }).then((r) => {
              if (r.bytes !== MiB) throw new Error(`download of ${r.bytes} bytes`)
            })
    return job.then(
      () => true,
      (err) => (note(`http #${i} (${['GET /', 'txt2img', 'download'][i % 3]})`, err), false)
    )
  })
  const wsJobs = Array.from({ length: wsCount }, (_, i) =>
    gradioJob(base, { prompt: `ws load ${i}`, seed: 1000 + i, steps: WS_STEPS, width: 64, height: 64 }).then(
      () => true,
      (err) => (note(`ws #${i}`, err), false)
    )
  )
  const httpResults = await Promise.all(httpJobs)
  const wsResults = await Promise.all(wsJobs)
  const seconds = (performance.now() - started) / 1000
  const httpOk = httpResults.filter(Boolean).length
  const wsOk = wsResults.filter(Boolean).length
  out({
    http_ok: httpOk,
    http_errors: httpCount - httpOk,
    ws_ok: wsOk,
    ws_errors: wsCount - wsOk,
    seconds: Math.round(seconds * 10) / 10,
    error_samples: samples
  })
  process.exit(0)
}

/** GET / on a connection of its own; the demo page must be there. */
function getPage(base, signal) {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL('/', base), { agent: false, signal }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode !== 200) reject(new Error(`GET / answered ${res.statusCode}`))
        else if (!body.includes('id="prompt"')) reject(new Error('GET / returned another page'))
        else resolve()
      })
    })
    req.on('error', reject)
  })
}

/**
 * One Gradio 3 queue job on /queue/join, as the WebUI's page runs it (not paced): send_hash,
 * estimation, send_data, process_starts, one progress per step, process_completed with a PNG, close.
 */
function gradioJob(base, job) {
  return new Promise((resolve, reject) => {
    const url = new URL('/queue/join', base)
    url.protocol = 'ws:'
    const ws = new WebSocket(url, { origin: new URL(base).origin })
    const hash = `load-${Math.random().toString(36).slice(2)}`
    const steps = []
    let completed = false
    const timer = setTimeout(
      () => fail(new Error(`no end after ${ITEM_TIMEOUT_MS} ms (at ${steps.length} steps)`)),
      ITEM_TIMEOUT_MS
    )
    const fail = (err) => {
      clearTimeout(timer)
      ws.terminate()
      reject(err)
    }
    ws.on('error', fail)
    ws.on('message', (raw) => {
      let msg
      try {
        msg = JSON.parse(raw.toString())
      } catch {
        return fail(new Error('a message that is not JSON'))
      }
      switch (msg.msg) {
        case 'send_hash':
          return ws.send(JSON.stringify({ fn_index: 0, session_hash: hash }))
        case 'estimation':
        case 'process_starts':
          return
        case 'send_data':
          return ws.send(
            JSON.stringify({
              fn_index: 0,
              session_hash: hash,
              data: [job.prompt, job.seed, job.steps, job.width, job.height]
            })
          )
        case 'progress':
          steps.push(msg.progress_data?.[0]?.index)
          return
        case 'process_completed': {
          const image = msg.output?.data?.[0]
          if (msg.success !== true || typeof image !== 'string')
            return fail(new Error(`process_completed without success: ${JSON.stringify(msg.output).slice(0, 200)}`))
          const png = Buffer.from(image.replace(/^data:image\/png;base64,/, ''), 'base64')
          if (png.subarray(1, 4).toString() !== 'PNG') return fail(new Error('the image is not a PNG'))
          if (steps.join(',') !== Array.from({ length: job.steps }, (_, i) => i + 1).join(','))
            return fail(new Error(`progress steps ${steps.join(',')}`))
          completed = true
          return
        }
        default:
          return fail(new Error(`unexpected message ${msg.msg}`))
      }
    })
    ws.on('close', (code) => {
      clearTimeout(timer)
      if (completed && code === 1000) resolve()
      else
        reject(
          new Error(
            `socket closed (${code}) ${completed ? 'after' : 'before'} process_completed, ${steps.length} steps seen`
          )
        )
    })
  })
}

async function slow(url, rate, seconds) {
  let bytes = 0
  let contentOk = true
  // The expected bytes, from the same generator the WebUI uses, consumed as the body arrives.
  const n = Number(new URL(url).searchParams.get('bytes'))
  const seed = Number(new URL(url).searchParams.get('seed') ?? 0)
  const expected = downloadChunks(n, seed)
  let pending = Buffer.alloc(0)
  const check = (chunk) => {
    let offset = 0
    while (offset < chunk.length) {
      if (pending.length === 0) {
        const next = expected.next()
        if (next.done) return false
        pending = next.value
      }
      const k = Math.min(pending.length, chunk.length - offset)
      if (!chunk.subarray(offset, offset + k).equals(pending.subarray(0, k))) return false
      pending = pending.subarray(k)
      offset += k
    }
    return true
  }
  await new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      out({ event: 'reading', status: res.statusCode })
      const started = performance.now()
      let resumeTimer = null
      let finished = false
      const finish = () => {
        if (finished) return
        finished = true
        clearTimeout(resumeTimer)
        clearTimeout(stopTimer)
        out({ event: 'done', status: res.statusCode, bytes_read: bytes, content_ok: contentOk })
        req.destroy()
        resolve()
      }
      const stopTimer = setTimeout(finish, seconds * 1000)
      res.on('data', (chunk) => {
        bytes += chunk.length
        if (contentOk && !check(chunk)) contentOk = false
        // Ahead of the allowed rate: pause until the schedule catches up with what was read.
        const aheadMs = (bytes / rate) * 1000 - (performance.now() - started)
        if (aheadMs > 0) {
          res.pause()
          resumeTimer = setTimeout(() => res.resume(), aheadMs)
        }
      })
      res.on('end', finish)
      res.on('error', (err) => (bytes > 0 ? finish() : reject(err)))
    })
    req.on('error', (err) => (bytes > 0 ? undefined : reject(err)))
  })
  process.exit(0)
}
