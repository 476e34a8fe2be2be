// Procedural stand-in for a diffusion model: the same prompt + seed + size always yields the same
// PNG, and changing any of them changes the picture, which is all a tunnel test needs to verify
// that an image survived the trip byte for byte. Every random choice comes from a PRNG keyed by a
// SHA-256 of seed and prompt, so nothing depends on Math.random or on the clock.

import { createHash } from 'node:crypto'
import pngjs from 'pngjs'

export interface RenderParams {
  prompt: string
  seed: number
  width: number
  height: number
}

type Rgb = [number, number, number]

export function renderImage(params: RenderParams): Buffer {
  const { width, height } = params
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`)
  }
  const rand = prngFor(params.prompt, params.seed)
  const png = new pngjs.PNG({ width, height })
  paintGradient(png.data, width, height, rand)
  paintRipples(png.data, width, height, rand)
  const shapes = 4 + Math.floor(rand() * 6)
  for (let i = 0; i < shapes; i++) paintDisc(png.data, width, height, rand)
  // RGB without alpha: the picture is opaque, and the smaller file keeps tunnel transfers honest.
  return pngjs.PNG.sync.write(png, { colorType: 2 })
}

/** sfc32 seeded from SHA-256(seed, prompt): fast, and good enough to make pictures differ. */
function prngFor(prompt: string, seed: number): () => number {
  const digest = createHash('sha256').update(`${seed}\0${prompt}`).digest()
  let a = digest.readUInt32LE(0)
  let b = digest.readUInt32LE(4)
  let c = digest.readUInt32LE(8)
  let d = digest.readUInt32LE(12)
  return () => {
    a |= 0
    b |= 0
    c |= 0
    d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
}

function randomColor(rand: () => number): Rgb {
  return [Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256)]
}

function paintGradient(data: Buffer, width: number, height: number, rand: () => number): void {
  const from = randomColor(rand)
  const to = randomColor(rand)
  const angle = rand() * Math.PI * 2
  const dx = Math.cos(angle)
  const dy = Math.sin(angle)
  // Project every pixel on the gradient axis, normalised so the far corners map to 0 and 1.
  const span = Math.abs(dx) * (width - 1) + Math.abs(dy) * (height - 1) || 1
  const origin = Math.min(0, dx * (width - 1)) + Math.min(0, dy * (height - 1))
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x * dx + y * dy - origin) / span
      const i = (y * width + x) * 4
      data[i] = from[0] + (to[0] - from[0]) * t
      data[i + 1] = from[1] + (to[1] - from[1]) * t
      data[i + 2] = from[2] + (to[2] - from[2]) * t
      data[i + 3] = 255
    }
  }
}

function paintRipples(data: Buffer, width: number, height: number, rand: () => number): void {
  const fx = (rand() - 0.5) * 0.2
  const fy = (rand() - 0.5) * 0.2
  const phase = rand() * Math.PI * 2
  const depth = 12 + rand() * 20
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const shade = Math.sin(x * fx + y * fy + phase) * depth
      const i = (y * width + x) * 4
      data[i] = clamp(data[i]! + shade)
      data[i + 1] = clamp(data[i + 1]! + shade)
      data[i + 2] = clamp(data[i + 2]! + shade)
    }
  }
}

function paintDisc(data: Buffer, width: number, height: number, rand: () => number): void {
  const cx = rand() * width
  const cy = rand() * height
  const r = (0.05 + rand() * 0.25) * Math.min(width, height)
  const color = randomColor(rand)
  const alpha = 0.35 + rand() * 0.5
  const r2 = r * r
  // Only the bounding box is visited, so many discs on a large canvas stay cheap.
  const x0 = Math.max(0, Math.floor(cx - r))
  const x1 = Math.min(width - 1, Math.ceil(cx + r))
  const y0 = Math.max(0, Math.floor(cy - r))
  const y1 = Math.min(height - 1, Math.ceil(cy + r))
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const ddx = x - cx
      const ddy = y - cy
      if (ddx * ddx + ddy * ddy > r2) continue
      const i = (y * width + x) * 4
      data[i] = data[i]! + (color[0] - data[i]!) * alpha
      data[i + 1] = data[i + 1]! + (color[1] - data[i + 1]!) * alpha
      data[i + 2] = data[i + 2]! + (color[2] - data[i + 2]!) * alpha
    }
  }
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v
}
