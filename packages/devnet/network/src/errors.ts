export type DevnetErrorCode = 'PORT_IN_USE' | 'ACCOUNT_EXISTS' | 'CONTROL_FAILED' | 'INVALID_ACCOUNT' | 'RELAY_FAILED'

export class DevnetError extends Error {
  readonly code: DevnetErrorCode

  constructor(code: DevnetErrorCode, message: string) {
    super(message)
    this.name = 'DevnetError'
    this.code = code
  }

  static PORT_IN_USE(what: string, port: number, flag: string): DevnetError {
    return new DevnetError(
      'PORT_IN_USE',
      `port ${port} for the ${what} is in use: stop what holds it, or choose another with ${flag}`
    )
  }

  static ACCOUNT_EXISTS(name: string): DevnetError {
    return new DevnetError(
      'ACCOUNT_EXISTS',
      `account "${name}" already exists: choose another name (2020117-devnet balance lists them)`
    )
  }

  static INVALID_ACCOUNT(name: string): DevnetError {
    return new DevnetError(
      'INVALID_ACCOUNT',
      `"${name}" is not a valid account name: use lower-case letters, digits, - and _ (at most 64)`
    )
  }

  static RELAY_FAILED(why: string, printed: string): DevnetError {
    const tail = printed.trim().split('\n').slice(-3).join(' | ')
    return new DevnetError(
      'RELAY_FAILED',
      `2020117-relay did not start: ${why}${tail ? ` (it printed: ${tail})` : ''}; run it alone with the same flags to see why`
    )
  }

  static CONTROL_FAILED(why: string): DevnetError {
    return new DevnetError('CONTROL_FAILED', `the running devnet refused the request: ${why}`)
  }
}
