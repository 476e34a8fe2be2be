// The AUTOMATIC1111 API subset the demo offers, with A1111's field names (snake_case) and shapes:
//
//   POST /sdapi/v1/txt2img  {prompt, negative_prompt?, seed? (-1 = random), steps? (1..150, 20),
//                            width?, height? (64..2048, 512), batch_size? (1..8, 1)}
//     -> 200 {images: [base64 PNG, ...], parameters: {...request with defaults...},
//             info: "<JSON string: seed, all_seeds, prompt, width, height, steps, ...>"}
//     -> 400 BAD_JSON, 413 BODY_TOO_LARGE (> 1 MiB), 422 INVALID_PARAMETER, as {error, code, detail}
//   GET /sdapi/v1/progress
//     -> {progress: 0..1, eta_relative: seconds, state: {skipped, interrupted, job, job_count,
//         job_timestamp, job_no, sampling_step, sampling_steps}, current_image: null, textinfo: null}
//
// Like A1111, txt2img answers only when the job is done (steps are paced by stepDelayMs), and
// batch image i uses seed + i.

import type { Handler } from './context.js'
import { readJsonBody, sendJson, abortOnDisconnect } from './http.js'
import type { Job, JobResult, JobRunner } from './jobs.js'
import { parseGenerationParams, type GenerationParams } from './params.js'

export const SAMPLER_NAME = 'Euler a'

export const txt2img: Handler = async (req, res, _url, ctx) => {
  const params = parseGenerationParams(await readJsonBody(req))
  const result = await ctx.jobs.run(params, { signal: abortOnDisconnect(res) })
  sendJson(res, 200, {
    images: result.images.map((png) => png.toString('base64')),
    parameters: requestEcho(params),
    info: JSON.stringify(generationInfo(params, result))
  })
}

export const progress: Handler = (_req, res, _url, ctx) => {
  sendJson(res, 200, progressSnapshot(ctx.jobs))
}

/** A1111's `info`: what was actually generated, including the resolved seeds. */
export function generationInfo(params: GenerationParams, result: JobResult): Record<string, unknown> {
  const n = result.seeds.length
  return {
    prompt: params.prompt,
    all_prompts: Array<string>(n).fill(params.prompt),
    negative_prompt: params.negativePrompt,
    all_negative_prompts: Array<string>(n).fill(params.negativePrompt),
    seed: params.seed,
    all_seeds: result.seeds,
    width: params.width,
    height: params.height,
    steps: params.steps,
    batch_size: params.batchSize,
    sampler_name: SAMPLER_NAME,
    sd_model_name: '2020117-procedural',
    duration: result.duration
  }
}

function requestEcho(params: GenerationParams): Record<string, unknown> {
  return {
    prompt: params.prompt,
    negative_prompt: params.negativePrompt,
    seed: params.requestedSeed,
    steps: params.steps,
    width: params.width,
    height: params.height,
    batch_size: params.batchSize,
    sampler_name: SAMPLER_NAME
  }
}

export function progressSnapshot(jobs: JobRunner): Record<string, unknown> {
  const job = jobs.current()
  return {
    progress: job ? job.step / job.total : 0,
    eta_relative: job ? jobs.etaSeconds(job) : 0,
    state: {
      skipped: false,
      interrupted: false,
      job: job ? `task(${job.id})` : '',
      job_count: jobs.count,
      job_timestamp: job ? timestamp(job) : '0',
      job_no: 0,
      sampling_step: job?.step ?? 0,
      sampling_steps: job?.total ?? 0
    },
    current_image: null,
    textinfo: null
  }
}

/** A1111 formats job timestamps as YYYYMMDDhhmmss. */
function timestamp(job: Job): string {
  return job.startedAt.toISOString().replace(/\D/g, '').slice(0, 14)
}
