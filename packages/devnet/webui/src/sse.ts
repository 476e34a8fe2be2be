// Progress over Server-Sent Events, the transport Gradio 4 moved to. One request runs one job:
//
//   GET /sse/progress?prompt=...&seed=S&steps=N&width=W&height=H[&negative_prompt=...][&paced=1]
//     -> 422 {error, code, detail} for bad parameters (before any event), otherwise
//        200 text/event-stream, one event per line group, each written (and so flushed) alone:
//          event: start     data: {"job_id","seed","steps","width","height","paced"}
//          event: progress  data: {"job_id","step","total","progress","eta_relative"}   x steps
//          event: complete  data: {"job_id","seed","image":"data:image/png;base64,...","info":{...}}
//        or, if the job fails after the stream has started,
//          event: error     data: {"error","code","detail"}
//        and then the response ends.
//
// With paced=1 the job holds after each step until POST /jobs/advance?id=<job_id> (see jobs.ts).
// `X-Accel-Buffering: no` and `Cache-Control: no-cache` tell proxies that this must not be
// buffered; a tunnel that buffers anyway is what the paced mode exposes.

import { generationInfo } from './a1111.js'
import type { Handler } from './context.js'
import { asWebUIError } from './errors.js'
import { abortOnDisconnect } from './http.js'
import type { Job } from './jobs.js'
import { parseGenerationParams } from './params.js'

export const sseProgress: Handler = async (_req, res, url, ctx) => {
  const query = (name: string): string | undefined => url.searchParams.get(name) || undefined
  const params = parseGenerationParams({
    prompt: query('prompt'),
    negative_prompt: query('negative_prompt'),
    seed: query('seed'),
    steps: query('steps'),
    width: query('width'),
    height: query('height')
  })
  const paced = ['1', 'true'].includes(url.searchParams.get('paced') ?? '')

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no'
  })
  const send = (event: string, data: unknown): void => {
    if (!res.destroyed && !res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }

  let jobId = ''
  try {
    const result = await ctx.jobs.run(params, {
      paced,
      signal: abortOnDisconnect(res),
      onStart: (job: Job) => {
        jobId = job.id
        const { seed, steps, width, height } = params
        send('start', { job_id: job.id, seed, steps, width, height, paced })
      },
      onProgress: (job: Job) => {
        send('progress', {
          job_id: job.id,
          step: job.step,
          total: job.total,
          progress: job.step / job.total,
          eta_relative: ctx.jobs.etaSeconds(job)
        })
      }
    })
    const image = result.images[0]?.toString('base64') ?? ''
    send('complete', {
      job_id: jobId,
      seed: params.seed,
      image: `data:image/png;base64,${image}`,
      info: generationInfo(params, result)
    })
  } catch (err) {
    send('error', asWebUIError(err).toJSON())
  }
  if (!res.destroyed) res.end()
}
