// What every route handler gets besides the request: the shared job runner and the log sink.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JobRunner } from './jobs.js'

export interface AppContext {
  jobs: JobRunner
  log: (line: string) => void
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, ctx: AppContext) => void | Promise<void>
