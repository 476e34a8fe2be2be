// Validation of generation parameters, shared by every entry point (the A1111 JSON API, the Gradio
// WebSocket, the SSE query string) so the bounds and defaults cannot drift between them.
// Like A1111's pydantic models, integers may arrive as decimal strings; anything else is refused.

import { randomInt } from 'node:crypto'
import { WebUIError } from './errors.js'

export const LIMITS = {
  seed: { min: -1, max: 0xffff_ffff },
  steps: { min: 1, max: 150 },
  size: { min: 64, max: 2048 },
  batchSize: { min: 1, max: 8 }
} as const

export const DEFAULTS = { steps: 20, width: 512, height: 512, batchSize: 1 } as const

/** Parameters after validation; `seed` is resolved (never -1), `requestedSeed` is as sent. */
export interface GenerationParams {
  prompt: string
  negativePrompt: string
  seed: number
  requestedSeed: number
  steps: number
  width: number
  height: number
  batchSize: number
}

export function parseGenerationParams(input: unknown): GenerationParams {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw WebUIError.INVALID_PARAMETER('body', 'must be a JSON object')
  }
  const body = input as Record<string, unknown>
  const seed = optionalInt(body, 'seed', LIMITS.seed) ?? -1
  return {
    prompt: optionalString(body, 'prompt') ?? '',
    negativePrompt: optionalString(body, 'negative_prompt') ?? '',
    seed: seed === -1 ? randomSeed() : seed,
    requestedSeed: seed,
    steps: optionalInt(body, 'steps', LIMITS.steps) ?? DEFAULTS.steps,
    width: optionalInt(body, 'width', LIMITS.size) ?? DEFAULTS.width,
    height: optionalInt(body, 'height', LIMITS.size) ?? DEFAULTS.height,
    batchSize: optionalInt(body, 'batch_size', LIMITS.batchSize) ?? DEFAULTS.batchSize
  }
}

export function randomSeed(): number {
  return randomInt(0, LIMITS.seed.max + 1)
}

/** A strict integer: a safe-integer number or a plain decimal string; null when it is neither. */
export function toInteger(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null
  if (typeof value === 'string' && /^-?\d{1,16}$/.test(value)) {
    const n = Number(value)
    return Number.isSafeInteger(n) ? n : null
  }
  return null
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw WebUIError.INVALID_PARAMETER(field, 'must be a string')
  return value
}

function optionalInt(
  body: Record<string, unknown>,
  field: string,
  range: { min: number; max: number }
): number | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  const n = toInteger(value)
  if (n === null) throw WebUIError.INVALID_PARAMETER(field, 'must be an integer')
  if (n < range.min || n > range.max) {
    throw WebUIError.INVALID_PARAMETER(field, `must be between ${range.min} and ${range.max}, got ${n}`)
  }
  return n
}
