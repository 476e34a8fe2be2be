// One adapter per upstream API: the request a job becomes, how large its answer may be, and the
// output read from that answer.
//
//   a1111   POST /sdapi/v1/txt2img {prompt, negative_prompt, steps, width, height, seed, cfg_scale,
//           sampler_name} -> images[0], base64 -> PNG bytes
//   ollama  POST /api/generate {model, prompt, stream: false} -> response
//   openai  POST /v1/chat/completions {model?, messages: [{role: 'user', content}]}
//           -> choices[0].message.content

import { ProcessorError } from './errors.js'
import { imageMime, textOutput } from './limits.js'
import type { ApiName, JobOutput, JobWork } from './types.js'

export interface Adapter {
  readonly name: ApiName
  readonly path: string
  body(work: JobWork, model: string | undefined): unknown
  /** The answer may carry this many bytes for an output of `maxOutputBytes`. */
  maxBodyBytes(work: JobWork, maxOutputBytes: number): number
  output(answer: Record<string, unknown>, fail: (why: string) => ProcessorError): JobOutput
}

/** Room for the envelope around the output: ids, timings, the echoed parameters. */
const ENVELOPE_BYTES = 64 * 1024

// A1111's own bounds (its API refuses values outside them); params outside are the customer's to fix.
const A1111_INTS = {
  steps: { min: 1, max: 150 },
  width: { min: 64, max: 2048 },
  height: { min: 64, max: 2048 },
  seed: { min: -1, max: 0xffff_ffff }
} as const
const A1111_STRINGS = { negative_prompt: 2000, sampler_name: 64 } as const
const CFG_SCALE = { min: 1, max: 30 }

export const a1111: Adapter = {
  name: 'a1111',
  path: '/sdapi/v1/txt2img',
  body: (work) => ({ prompt: work.input, ...a1111Params(work.params) }),
  // base64 of the image, and the prompt echoed several times (parameters, info, all_prompts).
  maxBodyBytes: (work, max) => Math.ceil(max / 3) * 4 + 8 * Buffer.byteLength(work.input) + ENVELOPE_BYTES,
  output(answer, fail) {
    const first = Array.isArray(answer.images) ? (answer.images[0] as unknown) : undefined
    if (typeof first !== 'string') throw fail('its answer has no images[0]')
    const data = Buffer.from(first.replace(/^data:[^,]*,/, ''), 'base64')
    const mime = imageMime(data)
    if (mime === null) throw fail('images[0] is not a PNG, JPEG, GIF or WebP image')
    // A copy: a small Buffer is a view into Node's shared pool.
    return { data: Uint8Array.from(data), mime }
  }
}

/** The txt2img fields the params may set, bounded; other params are not for this API and are ignored. */
export function a1111Params(params: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {}
  for (const [name, range] of Object.entries(A1111_INTS)) {
    const value = params[name]
    if (value === undefined) continue
    if (!/^-?\d{1,10}$/.test(value) || Number(value) < range.min || Number(value) > range.max) {
      throw ProcessorError.INVALID_PARAMS(`${name} must be an integer from ${range.min} to ${range.max}`)
    }
    out[name] = Number(value)
  }
  for (const [name, max] of Object.entries(A1111_STRINGS)) {
    const value = params[name]
    if (value === undefined) continue
    if (value.length > max) throw ProcessorError.INVALID_PARAMS(`${name} must be at most ${max} characters`)
    out[name] = value
  }
  const cfg = params.cfg_scale
  if (cfg !== undefined) {
    if (!/^\d{1,2}(\.\d{1,2})?$/.test(cfg) || Number(cfg) < CFG_SCALE.min || Number(cfg) > CFG_SCALE.max) {
      throw ProcessorError.INVALID_PARAMS(`cfg_scale must be a number from ${CFG_SCALE.min} to ${CFG_SCALE.max}`)
    }
    out.cfg_scale = Number(cfg)
  }
  return out
}

// JSON strings may escape text (up to 6 bytes per character); twice the output covers ordinary text.
const textBodyBytes = (_work: JobWork, max: number) => 2 * max + ENVELOPE_BYTES

export const ollama: Adapter = {
  name: 'ollama',
  path: '/api/generate',
  body: (work, model) => ({ model, prompt: work.input, stream: false }),
  maxBodyBytes: textBodyBytes,
  output(answer, fail) {
    if (typeof answer.response !== 'string') throw fail('its answer has no "response" text')
    return textOutput(answer.response)
  }
}

export const openai: Adapter = {
  name: 'openai',
  path: '/v1/chat/completions',
  body: (work, model) => ({
    ...(model === undefined ? {} : { model }),
    messages: [{ role: 'user', content: work.input }]
  }),
  maxBodyBytes: textBodyBytes,
  output(answer, fail) {
    const choice = Array.isArray(answer.choices)
      ? (answer.choices[0] as { message?: { content?: unknown } })
      : undefined
    const content = choice?.message?.content
    if (typeof content !== 'string') throw fail('its answer has no choices[0].message.content text')
    return textOutput(content)
  }
}

export const ADAPTERS: Readonly<Record<ApiName, Adapter>> = { a1111, ollama, openai }
