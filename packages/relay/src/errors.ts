// One error class for everything the relay can refuse or fail at. `code` is stable: callers and
// tests match on it, never on the message text. Refusals that travel to a Nostr client become a
// NIP-01 reason string (`nip01Reason`), whose machine-readable prefix clients already understand.

export type RelayErrorCode =
  | 'INVALID_OPTION'
  | 'LISTEN_FAILED'
  | 'JOURNAL_CORRUPT'
  | 'STORAGE_FAILED'
  | 'MALFORMED_MESSAGE'
  | 'EVENT_TOO_LARGE'
  | 'BAD_SIGNATURE'
  | 'UNSUPPORTED'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'TOO_MANY_FILTERS'
  | 'TOO_MANY_CONNECTIONS'
  | 'TOO_MANY_TAGS'
  | 'DELETED'

// NIP-01 standardises these prefixes for OK/CLOSED reasons; clients branch on them.
const NIP01_PREFIX: Record<RelayErrorCode, string> = {
  INVALID_OPTION: 'error',
  LISTEN_FAILED: 'error',
  JOURNAL_CORRUPT: 'error',
  STORAGE_FAILED: 'error',
  MALFORMED_MESSAGE: 'invalid',
  EVENT_TOO_LARGE: 'invalid',
  BAD_SIGNATURE: 'invalid',
  UNSUPPORTED: 'blocked',
  TOO_MANY_SUBSCRIPTIONS: 'rate-limited',
  TOO_MANY_FILTERS: 'invalid',
  TOO_MANY_CONNECTIONS: 'rate-limited',
  TOO_MANY_TAGS: 'invalid',
  DELETED: 'blocked'
}

export class RelayError extends Error {
  readonly code: RelayErrorCode

  constructor(code: RelayErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RelayError'
    this.code = code
  }

  /** The reason string for a NIP-01 OK/CLOSED/NOTICE message, e.g. `invalid: ...`. */
  nip01Reason(): string {
    return `${NIP01_PREFIX[this.code]}: ${this.message}`
  }

  static INVALID_OPTION(name: string, why: string): RelayError {
    return new RelayError('INVALID_OPTION', `relay option ${name} ${why}`)
  }

  static LISTEN_FAILED(host: string, port: number, cause: unknown): RelayError {
    const code = (cause as { code?: string } | null)?.code ?? 'unknown error'
    return new RelayError(
      'LISTEN_FAILED',
      `could not listen on ${host}:${port} (${code}): pick another port, or use port 0 for an ephemeral one`,
      { cause }
    )
  }

  static JOURNAL_CORRUPT(path: string, line: number, why: string): RelayError {
    return new RelayError(
      'JOURNAL_CORRUPT',
      `event journal ${path} line ${line} is unreadable (${why}): move the file away to start empty, or repair that line`
    )
  }

  static STORAGE_FAILED(path: string, cause: unknown): RelayError {
    const code = (cause as { code?: string } | null)?.code ?? String(cause)
    return new RelayError('STORAGE_FAILED', `could not write ${path} (${code}): check free space and permissions`, {
      cause
    })
  }

  static MALFORMED_MESSAGE(why: string): RelayError {
    return new RelayError('MALFORMED_MESSAGE', `${why}; see NIP-01 for the message format`)
  }

  static EVENT_TOO_LARGE(size: number, max: number): RelayError {
    return new RelayError('EVENT_TOO_LARGE', `event is ${size} bytes, above this relay's limit of ${max} bytes`)
  }

  static BAD_SIGNATURE(): RelayError {
    return new RelayError('BAD_SIGNATURE', 'event id or signature does not verify; sign the event with its pubkey')
  }

  static UNSUPPORTED(what: string): RelayError {
    return new RelayError('UNSUPPORTED', `${what} is not supported by this relay`)
  }

  static TOO_MANY_SUBSCRIPTIONS(max: number): RelayError {
    return new RelayError(
      'TOO_MANY_SUBSCRIPTIONS',
      `this connection already has ${max} open subscriptions: CLOSE one before opening another`
    )
  }

  static TOO_MANY_FILTERS(count: number, max: number): RelayError {
    return new RelayError(
      'TOO_MANY_FILTERS',
      `subscription has ${count} filters, above this relay's limit of ${max}: split it or merge filters`
    )
  }

  static TOO_MANY_CONNECTIONS(max: number): RelayError {
    return new RelayError(
      'TOO_MANY_CONNECTIONS',
      `relay already serves ${max} connections: close an idle connection or try again later`
    )
  }

  static TOO_MANY_TAGS(what: string, count: number, max: number): RelayError {
    return new RelayError(
      'TOO_MANY_TAGS',
      `${what} has ${count} tags, above this relay's limit of ${max}: split it into several events`
    )
  }

  static DELETED(id: string): RelayError {
    return new RelayError(
      'DELETED',
      `event ${id} was deleted by its author (NIP-09 kind 5) and cannot be published again: sign a new event`
    )
  }
}

export function isRelayError(err: unknown): err is RelayError {
  return err instanceof RelayError
}
