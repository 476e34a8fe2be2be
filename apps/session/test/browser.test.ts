// A real browser through the tunnel: Debian's Chromium, driven by playwright-core, opens
// http://127.0.0.1:<port> served by 2020117-session, types a prompt, clicks Generate, watches the
// progress arrive over the WebSocket, and sees the image. The screenshot is kept as an artifact.

import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url))

const network = await startTestNetwork({ webuiStepDelayMs: 40, teardown: afterAll })
let browser: Browser | null = null

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`
    )
  }
})

afterAll(async () => {
  await browser?.close()
})

test('the WebUI works in Chromium through the tunnel, progress arrives over the WebSocket, and status shows the ticks paid', async () => {
  const agent = spawnBin('agent', [network.flag, '--sats-per-minute=5', '--tick-seconds=3', '--json'])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const statusFile = join(network.dir, 'status.json')
  const session = spawnBin('session', [
    network.flag,
    '--budget=500',
    '--port=0',
    '--yes',
    '--no-repl',
    `--swarm-key=${ready.swarm_key}`,
    `--status-file=${statusFile}`
  ])
  const base = (await session.line(/tunnel open: (http:\/\/\S+)/)).match(/(http:\/\/127\.0\.0\.1:\d+)/)?.[1] as string

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } })
  const progressFrames: number[] = []
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      const msg = JSON.parse(String(payload)) as { msg: string; progress_data?: Array<{ index: number }> }
      if (msg.msg === 'progress') progressFrames.push(msg.progress_data?.[0]?.index ?? -1)
    })
  })

  await page.goto(base)
  await page.fill('#prompt', 'a red fox in the snow')
  await page.fill('#steps', '8')
  await page.fill('#seed', '42')
  await page.click('#generate')
  // The page shows progress while the job runs, step by step, before it is done.
  await page.waitForFunction(() => {
    const p = document.getElementById('progress')
    return p?.dataset.state === 'running' && Number(p.dataset.step) >= 1
  })
  await page.waitForFunction(() => document.getElementById('progress')?.dataset.state === 'done')
  const image = await page.evaluate(() => {
    const img = document.getElementById('result') as HTMLImageElement
    return { src: img.src.slice(0, 22), width: img.naturalWidth, height: img.naturalHeight }
  })
  expect(image.src).toBe('data:image/png;base64,')
  expect(image.width).toBeGreaterThan(0)
  expect(progressFrames).toEqual([1, 2, 3, 4, 5, 6, 7, 8])

  await mkdir(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, 'browser-webui.png') })
  expect(existsSync(join(ARTIFACTS, 'browser-webui.png'))).toBe(true)

  const status = JSON.parse(await readFile(statusFile, 'utf8')) as {
    ticks_paid: number
    state: string
    bytes_down: number
  }
  expect(status.state).toBe('active')
  expect(status.ticks_paid).toBeGreaterThanOrEqual(1)
  expect(status.bytes_down).toBeGreaterThan(0)
})
