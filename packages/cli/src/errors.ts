// The error every bin prints on the way out. `code` is stable (scripts match on it, `--json`
// prints it); the message says what happened and what to do next.

export class CliError extends Error {
  readonly code: string
  readonly exitCode: number

  constructor(code: string, message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.code = code
    this.exitCode = exitCode
  }

  static UNKNOWN_FLAG(flag: string, suggestion: string | null, bin: string): CliError {
    const hint = suggestion ? ` Did you mean --${suggestion}?` : ''
    return new CliError('UNKNOWN_FLAG', `unknown flag ${flag}.${hint} See ${bin} --help.`, 2)
  }

  static INVALID_FLAG(flag: string, why: string, bin: string): CliError {
    return new CliError('INVALID_FLAG', `--${flag} ${why}. See ${bin} --help.`, 2)
  }

  static MISSING_FLAG(flag: string, why: string): CliError {
    return new CliError('MISSING_FLAG', `--${flag} is required: ${why}`, 2)
  }

  static STATE_FILE_INVALID(path: string, why: string): CliError {
    return new CliError('STATE_FILE_INVALID', `${path} is not a valid state file (${why}): move it aside and start again; what it recorded is then forgotten`)
  }

  static UNEXPECTED_ARGUMENT(arg: string, bin: string): CliError {
    return new CliError('UNEXPECTED_ARGUMENT', `unexpected argument "${arg}". See ${bin} --help.`, 2)
  }
}
