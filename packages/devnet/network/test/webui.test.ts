// Acceptance: the devnet's demo WebUI, reached through the URL the devnet publishes in its state,
// serves images, streams progress without buffering, and carries binary uploads intact. The
// probes are the ones the tunnel tests run through a tunnel.

import { createHash, randomBytes } from 'node:crypto'
import { PNG } from 'pngjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  probeDownload,
  probeSseProgress,
  probeTxt2img,
  probeUpload,
  probeWebSocketProgress
} from '@2020117/webui/testing'
import type { Devnet } from '../src/index.js'
import { removeDir, startTestDevnet, tempDir } from './helpers/devnet.js'

let dir: string
let devnet: Devnet
let url: string

beforeAll(async () => {
  dir = await tempDir()
  devnet = await startTestDevnet(dir, [])
  url = devnet.state.webui!
})

afterAll(async () => {
  await devnet?.close()
  await removeDir(dir)
})

describe('devnet WebUI', () => {
  it('is published in the state, on 127.0.0.1', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(url).toBe(devnet.webui?.url)
  })

  it('txt2img returns a PNG that decodes at the requested size', async () => {
    const { png } = await probeTxt2img(url, { prompt: 'devnet lighthouse', seed: 117, width: 128, height: 96 })
    const decoded = PNG.sync.read(png)
    expect([decoded.width, decoded.height]).toEqual([128, 96])
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a')
  })

  it('streams Gradio WebSocket progress one step at a time', async () => {
    expect(await probeWebSocketProgress(url, { steps: 5 })).toEqual([1, 2, 3, 4, 5])
  })

  it('streams SSE progress one step at a time', async () => {
    expect(await probeSseProgress(url, { steps: 5 })).toEqual([1, 2, 3, 4, 5])
  })

  it('round-trips a 10 MiB binary upload by hash', async () => {
    const data = randomBytes(10 * 1024 * 1024)
    // Every byte value, and the ones text handling mangles (CR, LF, NUL, invalid UTF-8), up front.
    for (let i = 0; i < 256; i++) data[i] = i
    const result = await probeUpload(url, data)
    expect(result).toEqual({ bytes: 10 * 1024 * 1024, sha256: createHash('sha256').update(data).digest('hex') })
  })

  it('streams a download that matches its specification', async () => {
    expect((await probeDownload(url, 1024 * 1024 + 3, 11)).bytes).toBe(1024 * 1024 + 3)
  })
})
