#!/usr/bin/env node
// Runs the demo WebUI standalone, as a provider would run Stable Diffusion WebUI:
//   node packages/webui/dist/cli.js [--host 127.0.0.1] [--port 7860] [--step-delay-ms 150] [--quiet]
// Prints the URL on stdout once listening (spawning tests wait for that line) and closes cleanly
// on SIGINT/SIGTERM.

import { parseArgs } from 'node:util'
import { startWebUI } from './server.js'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '7860' },
    'step-delay-ms': { type: 'string', default: '150' },
    quiet: { type: 'boolean', default: false }
  }
})

const webui = await startWebUI({
  host: values.host,
  port: Number(values.port),
  stepDelayMs: Number(values['step-delay-ms']),
  log: values.quiet ? () => {} : (line) => console.error(line)
})
console.log(webui.url)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    webui.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err)
        process.exit(1)
      }
    )
  })
}
