#!/usr/bin/env node
// One HTTP GET in its own process, so that reading a large body does not load the process that
// measures everything else. Prints {"status","bytes","ms","ttfb_ms","mb_s"} on stdout.
//
//   node http-get.mjs <url>

import http from 'node:http'

const url = process.argv[2]
const watchdog = setTimeout(() => {
  process.stderr.write('http-get: timed out\n')
  process.exit(2)
}, 180_000)

const started = performance.now()
const req = http.get(url, { agent: false }, (res) => {
  const ttfb = performance.now() - started
  let bytes = 0
  res.on('data', (chunk) => {
    bytes += chunk.length
  })
  res.on('end', () => {
    const ms = performance.now() - started
    process.stdout.write(
      JSON.stringify({
        status: res.statusCode,
        bytes,
        ms: Math.round(ms),
        ttfb_ms: Math.round(ttfb * 10) / 10,
        mb_s: bytes / 1e6 / (ms / 1000)
      }) + '\n'
    )
    clearTimeout(watchdog)
    process.exit(0)
  })
  res.on('error', (err) => {
    process.stderr.write(`http-get: ${err.message}\n`)
    process.exit(1)
  })
})
req.on('error', (err) => {
  process.stderr.write(`http-get: ${err.message}\n`)
  process.exit(1)
})
