// The Gradio 3 queue protocol over a WebSocket at /queue/join, as Stable Diffusion WebUI's own
// page speaks it (and so as a tunnel must carry it):
//
//   server: {"msg":"send_hash"}
//   client: {"fn_index": n, "session_hash": "..."}
//   server: {"msg":"estimation","rank":0,"queue_size":q,"rank_eta":0,"queue_eta":0,...}
//   server: {"msg":"send_data"}
//   client: {"data":[prompt, seed, steps, width, height], "fn_index": n, "session_hash": "...",
//            "paced"?: true}
//   server: {"msg":"process_starts","job_id":"..."}
//   server: {"msg":"progress","progress_data":[{"index":i,"length":n,"unit":"steps",
//            "progress":i/n,"desc":null}]}                                           one per step
//   server: {"msg":"process_completed","success":true,"output":{"data":
//            ["data:image/png;base64,...", "<info JSON string>"],"is_generating":false,
//            "duration":s,"average_duration":s}}
//   server closes the socket (1000).
//
// Invalid input (bad JSON, bad parameters) ends with
// {"msg":"process_completed","success":false,"output":{"error":"...","code":"..."}}.
// `job_id` and `paced` are ours, not Gradio's: with paced: true the job holds after each step
// until POST /jobs/advance?id=<job_id> (see jobs.ts). fn_index is accepted and ignored: there is
// only one function.

import type { RawData, WebSocket } from 'ws'
import { generationInfo } from './a1111.js'
import type { AppContext } from './context.js'
import { asWebUIError, WebUIError } from './errors.js'
import { parseGenerationParams } from './params.js'

type Phase = 'hash' | 'data' | 'running'

/** What a job needs of its socket: to send, to end well, to end with an error, and to learn it is gone. */
interface QueueSocket {
  send(msg: Record<string, unknown>): void
  close(): void
  fail(err: unknown): void
  signal: AbortSignal
}

export function serveQueueSocket(ws: WebSocket, ctx: AppContext): void {
  let phase: Phase = 'hash'
  const socket = queueSocket(ws, ctx)
  socket.send({ msg: 'send_hash' })
  ws.on('message', (raw: RawData) => {
    const fields = readMessage(raw)
    if (fields instanceof WebUIError) return socket.fail(fields)
    switch (phase) {
      case 'hash':
        phase = 'data'
        socket.send(estimation(ctx))
        socket.send({ msg: 'send_data' })
        return
      case 'data':
        phase = 'running'
        void runJob(fields, ctx, socket)
        return
      case 'running':
        // Gradio clients send nothing more; anything else is ignored rather than derailing the job.
        return
    }
  })
}

function queueSocket(ws: WebSocket, ctx: AppContext): QueueSocket {
  const gone = new AbortController()
  ws.on('close', () => gone.abort())
  ws.on('error', (err) => ctx.log(`queue socket error: ${err.message}`))
  const socket: QueueSocket = {
    send(msg) {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg))
    },
    close: () => ws.close(1000),
    fail(err) {
      const { code, message } = asWebUIError(err)
      socket.send({ msg: 'process_completed', success: false, output: { error: message, code } })
      socket.close()
    },
    signal: gone.signal
  }
  return socket
}

/** A client message as an object, or the error that ends the socket. */
function readMessage(raw: RawData): Record<string, unknown> | WebUIError {
  let msg: unknown
  try {
    msg = JSON.parse(raw.toString())
  } catch (err) {
    return WebUIError.BAD_JSON(err instanceof Error ? err.message : String(err))
  }
  if (typeof msg !== 'object' || msg === null) return WebUIError.INVALID_PARAMETER('message', 'must be an object')
  return msg as Record<string, unknown>
}

function estimation(ctx: AppContext): Record<string, unknown> {
  return {
    msg: 'estimation',
    rank: 0,
    queue_size: ctx.jobs.count + 1,
    avg_event_process_time: null,
    avg_event_concurrent_process_time: null,
    rank_eta: 0,
    queue_eta: 0
  }
}

/** Runs the job the `send_data` answer asks for, with a progress message a step, then completes. */
async function runJob(fields: Record<string, unknown>, ctx: AppContext, socket: QueueSocket): Promise<void> {
  try {
    const data = fields['data']
    if (!Array.isArray(data))
      throw WebUIError.INVALID_PARAMETER('data', 'must be an array [prompt, seed, steps, width, height]')
    const [prompt, seed, steps, width, height] = data as unknown[]
    const params = parseGenerationParams({ prompt, seed, steps, width, height })
    const result = await ctx.jobs.run(params, {
      paced: fields['paced'] === true,
      signal: socket.signal,
      onStart: (job) => socket.send({ msg: 'process_starts', job_id: job.id }),
      onProgress: (job) =>
        socket.send({
          msg: 'progress',
          progress_data: [
            { index: job.step, length: job.total, unit: 'steps', progress: job.step / job.total, desc: null }
          ]
        })
    })
    const image = `data:image/png;base64,${result.images[0]?.toString('base64') ?? ''}`
    socket.send({
      msg: 'process_completed',
      success: true,
      output: {
        data: [image, JSON.stringify(generationInfo(params, result))],
        is_generating: false,
        duration: result.duration,
        average_duration: result.duration
      }
    })
    socket.close()
  } catch (err) {
    socket.fail(err)
  }
}
