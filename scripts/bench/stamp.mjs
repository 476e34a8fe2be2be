#!/usr/bin/env node
// Runs a command and stamps each line of its stderr with the time it arrived here (ms since the
// epoch, with sub-ms digits), in a process that does nothing else, so that timings taken from log
// lines do not depend on how busy the caller is. stdout passes through untouched.
//
//   [STAMP_NODE_ARGS='--trace-gc'] node stamp.mjs <node script> [args...]
// stderr: first "@pid <child pid>", then "<ms> <line>" for every line of the child's stderr.
// Exits with the child's code; SIGINT/SIGTERM are forwarded to the child.

import { spawn } from 'node:child_process'

const [script, ...args] = process.argv.slice(2)
// STAMP_NODE_ARGS: node options for the child only (the bench's --trace-gc), not for this process.
const nodeArgs = (process.env.STAMP_NODE_ARGS ?? '').split(' ').filter(Boolean)
const env = { ...process.env }
delete env.STAMP_NODE_ARGS
const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'inherit', 'pipe'], env })
process.stderr.write(`@pid ${child.pid}\n`)
let partial = ''
child.stderr.setEncoding('utf8')
child.stderr.on('data', (chunk) => {
  const now = (performance.timeOrigin + performance.now()).toFixed(2)
  partial += chunk
  const lines = partial.split('\n')
  partial = lines.pop()
  if (lines.length) process.stderr.write(lines.map((l) => `${now} ${l}`).join('\n') + '\n')
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => {
  if (partial) process.stderr.write(`${(performance.timeOrigin + performance.now()).toFixed(2)} ${partial}\n`)
  process.exit(code ?? (signal ? 128 : 1))
})
