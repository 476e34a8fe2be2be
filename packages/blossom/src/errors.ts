// The one error class of @2020117/blossom. `code` is stable (callers branch on it); the message
// says what happened and what to do next. A server's own words (its `X-Reason`) are peer text:
// bounded and stripped of control characters before they enter a message.

export type BlossomErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_URL'
  | 'UPLOAD_REFUSED'
  | 'BAD_DESCRIPTOR'
  | 'HASH_MISMATCH'
  | 'TOO_LARGE'
  | 'FETCH_FAILED'
  | 'TOO_MANY_REDIRECTS'
  | 'TIMEOUT'
  | 'NETWORK_FAILED'

export class BlossomError extends Error {
  readonly code: BlossomErrorCode

  constructor(code: BlossomErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BlossomError'
    this.code = code
  }

  static INVALID_OPTION(name: string, why: string): BlossomError {
    return new BlossomError('INVALID_OPTION', `${name} ${why}`)
  }

  static INVALID_URL(url: string): BlossomError {
    return new BlossomError('INVALID_URL', `${url} is not an http(s) URL: blobs are fetched over http or https only`)
  }

  static UPLOAD_REFUSED(server: string, status: number, reason: string): BlossomError {
    const why = reason ? `: ${reason}` : ''
    return new BlossomError(
      'UPLOAD_REFUSED',
      `${server} refused the upload with HTTP ${status}${why}. Check the blob's size and try another server`
    )
  }

  static BAD_DESCRIPTOR(server: string, why: string): BlossomError {
    return new BlossomError('BAD_DESCRIPTOR', `${server} answered the upload with no usable blob descriptor (${why})`)
  }

  static HASH_MISMATCH(what: string, expected: string, got: string): BlossomError {
    return new BlossomError(
      'HASH_MISMATCH',
      `${what} has sha256 ${got}, not ${expected}: the server does not hold our blob; do not use it`
    )
  }

  static TOO_LARGE(url: string, max: number): BlossomError {
    return new BlossomError('TOO_LARGE', `${url} is over ${max} bytes: refused unread; raise maxBytes if you trust it`)
  }

  static FETCH_FAILED(url: string, status: number): BlossomError {
    return new BlossomError('FETCH_FAILED', `${url} answered HTTP ${status}: the blob is not there`)
  }

  static TOO_MANY_REDIRECTS(url: string, max: number): BlossomError {
    return new BlossomError('TOO_MANY_REDIRECTS', `${url} redirected more than ${max} times: refused`)
  }

  static TIMEOUT(url: string, ms: number): BlossomError {
    return new BlossomError('TIMEOUT', `${url} did not answer within ${ms} ms: try again or another server`)
  }

  static NETWORK_FAILED(url: string, cause: unknown): BlossomError {
    const code = (cause as { cause?: { code?: string } } | null)?.cause?.code ?? String(cause)
    return new BlossomError('NETWORK_FAILED', `could not reach ${url} (${code}): is the server up?`, { cause })
  }
}
