// Everything the demo WebUI can refuse. `code` is stable: clients and tests match on it, never on
// the message text. Each code carries the HTTP status it is answered with, so a handler only has to
// throw and the router turns the error into `{ error, code, detail }`.

import { STATUS_CODES } from 'node:http'

export type WebUIErrorCode =
  | 'BAD_JSON'
  | 'INVALID_PARAMETER'
  | 'BODY_TOO_LARGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'JOB_NOT_FOUND'
  | 'UPGRADE_REQUIRED'
  | 'CANCELLED'
  | 'INTERNAL'

const STATUS: Record<WebUIErrorCode, number> = {
  BAD_JSON: 400,
  INVALID_PARAMETER: 422,
  BODY_TOO_LARGE: 413,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  JOB_NOT_FOUND: 404,
  UPGRADE_REQUIRED: 426,
  // The client went away or the server is closing: nobody is left to read a status, but the code
  // still has to map to something if it ever escapes to a live response.
  CANCELLED: 503,
  INTERNAL: 500
}

export interface WebUIErrorBody {
  error: string
  code: WebUIErrorCode
  detail: string
  field?: string
}

export class WebUIError extends Error {
  readonly code: WebUIErrorCode
  readonly status: number
  /** For INVALID_PARAMETER: the offending request field. */
  readonly field: string | null

  constructor(code: WebUIErrorCode, message: string, field: string | null = null) {
    super(message)
    this.name = 'WebUIError'
    this.code = code
    this.status = STATUS[code]
    this.field = field
  }

  static BAD_JSON(detail: string): WebUIError {
    return new WebUIError('BAD_JSON', `request body is not valid JSON: ${detail}`)
  }

  static INVALID_PARAMETER(field: string, why: string): WebUIError {
    return new WebUIError('INVALID_PARAMETER', `${field} ${why}`, field)
  }

  static BODY_TOO_LARGE(max: number): WebUIError {
    return new WebUIError('BODY_TOO_LARGE', `request body exceeds the ${max}-byte limit`)
  }

  static NOT_FOUND(path: string): WebUIError {
    return new WebUIError('NOT_FOUND', `no route for ${path}`)
  }

  static METHOD_NOT_ALLOWED(method: string, path: string): WebUIError {
    return new WebUIError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`)
  }

  static JOB_NOT_FOUND(id: string): WebUIError {
    return new WebUIError('JOB_NOT_FOUND', `no running job ${id}`)
  }

  static UPGRADE_REQUIRED(path: string): WebUIError {
    return new WebUIError('UPGRADE_REQUIRED', `${path} is a WebSocket endpoint`)
  }

  static CANCELLED(what: string): WebUIError {
    return new WebUIError('CANCELLED', `${what} was cancelled`)
  }

  static INTERNAL(detail: string): WebUIError {
    return new WebUIError('INTERNAL', `internal error: ${detail}`)
  }

  toJSON(): WebUIErrorBody {
    const body: WebUIErrorBody = {
      error: STATUS_CODES[this.status] ?? 'Error',
      code: this.code,
      detail: this.message
    }
    if (this.field !== null) body.field = this.field
    return body
  }
}

/** Anything thrown inside a handler, as a WebUIError (unknown failures become INTERNAL). */
export function asWebUIError(err: unknown): WebUIError {
  if (err instanceof WebUIError) return err
  return WebUIError.INTERNAL(err instanceof Error ? err.message : String(err))
}
