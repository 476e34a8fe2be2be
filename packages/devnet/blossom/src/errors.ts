// Everything the local Blossom server can refuse or fail at. `code` is stable (tests and clients
// match on it); each code carries the HTTP status it is answered with, and the message goes out in
// BUD-01's `X-Reason` header as well as in the JSON body.

export type BlossomServerErrorCode =
  | 'INVALID_OPTION'
  | 'LISTEN_FAILED'
  | 'AUTH_MISSING'
  | 'AUTH_INVALID'
  | 'AUTH_EXPIRED'
  | 'AUTH_MISMATCH'
  | 'TOO_LARGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'STORAGE_FAILED'

const STATUS: Record<BlossomServerErrorCode, number> = {
  INVALID_OPTION: 500,
  LISTEN_FAILED: 500,
  AUTH_MISSING: 401,
  AUTH_INVALID: 401,
  AUTH_EXPIRED: 401,
  AUTH_MISMATCH: 401,
  TOO_LARGE: 413,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  STORAGE_FAILED: 500
}

export class BlossomServerError extends Error {
  readonly code: BlossomServerErrorCode

  constructor(code: BlossomServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BlossomServerError'
    this.code = code
  }

  get status(): number {
    return STATUS[this.code]
  }

  static INVALID_OPTION(name: string, why: string): BlossomServerError {
    return new BlossomServerError('INVALID_OPTION', `blossom server option ${name} ${why}`)
  }

  static LISTEN_FAILED(host: string, port: number, cause: unknown): BlossomServerError {
    const code = (cause as { code?: string } | null)?.code ?? 'unknown error'
    return new BlossomServerError(
      'LISTEN_FAILED',
      `could not listen on ${host}:${port} (${code}): pick another port, or use port 0 for an ephemeral one`,
      { cause }
    )
  }

  static AUTH_MISSING(): BlossomServerError {
    return new BlossomServerError(
      'AUTH_MISSING',
      'uploads need an Authorization header: "Nostr " and a base64 kind 24242 event (BUD-01)'
    )
  }

  static AUTH_INVALID(why: string): BlossomServerError {
    return new BlossomServerError('AUTH_INVALID', `the authorization event is not usable: ${why}`)
  }

  static AUTH_EXPIRED(): BlossomServerError {
    return new BlossomServerError(
      'AUTH_EXPIRED',
      'the authorization event has no expiration tag in the future: sign a fresh one'
    )
  }

  static AUTH_MISMATCH(sha256: string): BlossomServerError {
    return new BlossomServerError(
      'AUTH_MISMATCH',
      `the body's sha256 ${sha256} is not in an x tag of the authorization event: sign one for this blob`
    )
  }

  static TOO_LARGE(max: number): BlossomServerError {
    return new BlossomServerError('TOO_LARGE', `the blob is over this server's limit of ${max} bytes`)
  }

  static NOT_FOUND(): BlossomServerError {
    return new BlossomServerError('NOT_FOUND', 'no such blob: GET /<sha256>[.ext] of an uploaded blob')
  }

  static METHOD_NOT_ALLOWED(method: string, path: string): BlossomServerError {
    return new BlossomServerError(
      'METHOD_NOT_ALLOWED',
      `${method} ${path} is not served: use GET or HEAD /<sha256> and PUT /upload`
    )
  }

  static STORAGE_FAILED(path: string, cause: unknown): BlossomServerError {
    const code = (cause as { code?: string } | null)?.code ?? String(cause)
    return new BlossomServerError(
      'STORAGE_FAILED',
      `could not write ${path} (${code}): check free space and permissions`,
      {
        cause
      }
    )
  }
}
