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
    return new CliError(
      'STATE_FILE_INVALID',
      `${path} is not a valid state file (${why}): move it aside and start again; what it recorded is then forgotten`
    )
  }

  static UNEXPECTED_ARGUMENT(arg: string, bin: string): CliError {
    return new CliError('UNEXPECTED_ARGUMENT', `unexpected argument "${arg}". See ${bin} --help.`, 2)
  }

  /** Never echoes the value: it is a secret. */
  static PRIVATE_KEY_GIVEN(flag: string): CliError {
    return new CliError(
      'PRIVATE_KEY_GIVEN',
      `--${flag} is your own private key, not a provider's public key: keep it secret, and pass the provider's npub`,
      2
    )
  }

  /** Never echoes the value: it is a secret. */
  static SECRET_GIVEN(flag: string): CliError {
    return new CliError(
      'SECRET_GIVEN',
      `--${flag} is your wallet's connection secret (the secret= of your NWC URI), not a provider's key: nothing was sent; keep it private, and pass the provider's npub`,
      2
    )
  }

  // The session's local HTTP front answers these as 403/502 JSON bodies, not as exits.
  static FOREIGN_HOST(host: string, own: string): CliError {
    return new CliError(
      'FOREIGN_HOST',
      `refused a request for host "${host}": the session serves only its own address (${own}); a web page behind another name (DNS rebinding) may not use it. Open ${own}, or start the session with --allow-foreign-origin`
    )
  }

  static FOREIGN_ORIGIN(origin: string, own: string): CliError {
    return new CliError(
      'FOREIGN_ORIGIN',
      `refused a request from the web page at "${origin}": only pages of ${own} may use the paid session. Open ${own}, or start the session with --allow-foreign-origin`
    )
  }

  static LOCK_HELD(path: string, pid: number | null): CliError {
    const holder = pid === null ? 'another program' : `process ${pid}`
    return new CliError(
      'LOCK_HELD',
      `${path} is held by ${holder}: wait for it to finish, or delete ${path} if that program no longer runs`
    )
  }

  static TUNNEL_UNAVAILABLE(why: string): CliError {
    return new CliError(
      'TUNNEL_UNAVAILABLE',
      `the tunnel to the provider could not carry this request: ${why}. Try again; the session's log says more`
    )
  }
}
