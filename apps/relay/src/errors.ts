// How 2020117-relay fails to start. A CliError, so runMain prints the code (as JSON with --json) and
// exits with it: 2 for a flag that cannot be read or an address that cannot be listened on (as
// CliError.PORT_IN_USE), 1 for a database it cannot use. Each message says what to change. The
// refusals of events are the library's (RelayError).

import { CliError } from '@2020117/cli'

export type RelaydErrorCode =
  /** --pow, --kinds, --retention, a --rate-… flag or a key list does not parse. */
  | 'INVALID_POLICY'
  /** Another process listens on --host:--port. */
  | 'PORT_IN_USE'
  /** The port needs privileges this process does not have (below 1024). */
  | 'PORT_FORBIDDEN'
  /** --host is not an address of this machine. */
  | 'HOST_UNAVAILABLE'
  /** The --db file, or its directory, cannot be created, opened or read as a relay database. */
  | 'DB_UNUSABLE'

const EXIT: Record<RelaydErrorCode, number> = {
  INVALID_POLICY: 2,
  PORT_IN_USE: 2,
  PORT_FORBIDDEN: 2,
  HOST_UNAVAILABLE: 2,
  DB_UNUSABLE: 1
}

export class RelaydError extends CliError {
  constructor(code: RelaydErrorCode, message: string) {
    super(code, message, EXIT[code])
    this.name = 'RelaydError'
  }

  static INVALID_POLICY(flag: string, why: string): RelaydError {
    return new RelaydError('INVALID_POLICY', `--${flag} ${why}. See 2020117-relay --help.`)
  }
  static override PORT_IN_USE(host: string, port: number): RelaydError {
    return new RelaydError(
      'PORT_IN_USE',
      `port ${port} on ${host} is in use (another relay?): stop that process, or pick another port with --port=N (--port=0 takes any free one)`
    )
  }
  static PORT_FORBIDDEN(host: string, port: number): RelaydError {
    return new RelaydError(
      'PORT_FORBIDDEN',
      `this process may not listen on port ${port} of ${host} (ports below 1024 need privileges): pick one above 1023 with --port=N and put a proxy in front if you need it`
    )
  }
  static HOST_UNAVAILABLE(host: string): RelaydError {
    return new RelaydError(
      'HOST_UNAVAILABLE',
      `${host} is not an address of this machine: pass one it has with --host (127.0.0.1, the default, for this machine only)`
    )
  }
  static DB_UNUSABLE(path: string, why: string): RelaydError {
    return new RelaydError(
      'DB_UNUSABLE',
      `cannot use ${path} as the relay's database (${why}): check the path and its permissions, or pass another --db=PATH`
    )
  }
}
