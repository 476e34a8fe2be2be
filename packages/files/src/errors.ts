// The file primitives' one error. `code` is stable: callers (the keys file, the wallet's storage)
// match on it and wrap it in their own error; the message says what happened and what to do next.

export type FilesErrorCode = 'LOCK_HELD' | 'STATE_FILE_INVALID'

export class FilesError extends Error {
  readonly code: FilesErrorCode

  private constructor(code: FilesErrorCode, message: string) {
    super(message)
    this.name = 'FilesError'
    this.code = code
  }

  static LOCK_HELD(path: string, pid: number | null): FilesError {
    const holder = pid === null ? 'another program' : `process ${pid}`
    return new FilesError(
      'LOCK_HELD',
      `${path} is held by ${holder}: wait for it to finish, or delete ${path} if that program no longer runs`
    )
  }

  static STATE_FILE_INVALID(path: string, why: string): FilesError {
    return new FilesError(
      'STATE_FILE_INVALID',
      `${path} is not a valid state file (${why}): move it aside and start again; what it recorded is then forgotten`
    )
  }
}
