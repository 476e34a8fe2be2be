// One error class for everything the relay can refuse or fail at. `code` is stable: callers and
// tests match on it, never on the message text. Refusals that travel to a Nostr client become a
// NIP-01 reason string (`nip01Reason`), whose machine-readable prefix clients already understand.

export type RelayErrorCode =
  | 'INVALID_OPTION'
  | 'LISTEN_FAILED'
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
  | 'KIND_BLOCKED'
  | 'WRITER_NOT_ALLOWED'
  | 'POW_REQUIRED'
  | 'RATE_LIMITED'
  | 'AUTH_REQUIRED'
  | 'AUTH_RESTRICTED'
  | 'AUTH_INVALID'
  | 'EXPIRED'

// NIP-01 standardises these prefixes for OK/CLOSED reasons; clients branch on them.
const NIP01_PREFIX: Record<RelayErrorCode, string> = {
  INVALID_OPTION: 'error',
  LISTEN_FAILED: 'error',
  STORAGE_FAILED: 'error',
  MALFORMED_MESSAGE: 'invalid',
  EVENT_TOO_LARGE: 'invalid',
  BAD_SIGNATURE: 'invalid',
  UNSUPPORTED: 'blocked',
  TOO_MANY_SUBSCRIPTIONS: 'rate-limited',
  TOO_MANY_FILTERS: 'invalid',
  TOO_MANY_CONNECTIONS: 'rate-limited',
  TOO_MANY_TAGS: 'invalid',
  DELETED: 'blocked',
  KIND_BLOCKED: 'blocked',
  WRITER_NOT_ALLOWED: 'blocked',
  POW_REQUIRED: 'pow',
  RATE_LIMITED: 'rate-limited',
  AUTH_REQUIRED: 'auth-required',
  AUTH_RESTRICTED: 'restricted',
  AUTH_INVALID: 'invalid',
  EXPIRED: 'invalid'
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

  static STORAGE_FAILED(path: string, cause: unknown): RelayError {
    const code = (cause as { code?: string } | null)?.code ?? String(cause)
    return new RelayError(
      'STORAGE_FAILED',
      `could not open or write the database ${path} (${code}): check free space and permissions`,
      {
        cause
      }
    )
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

  static KIND_BLOCKED(kind: number): RelayError {
    return new RelayError(
      'KIND_BLOCKED',
      `kind ${kind} is not accepted by this relay: its NIP-11 document lists accepted_kinds; publish it elsewhere`
    )
  }

  static WRITER_NOT_ALLOWED(pubkey: string): RelayError {
    return new RelayError(
      'WRITER_NOT_ALLOWED',
      `pubkey ${pubkey.slice(0, 16)}… may not write to this relay (restricted_writes): ask its operator to add it`
    )
  }

  static POW_REQUIRED(kind: number, required: number, found: number): RelayError {
    return new RelayError(
      'POW_REQUIRED',
      `kind ${kind} needs ${required} bits of proof of work, this event commits ${found}: mine it (NIP-13) with a ` +
        `["nonce", <counter>, "${required}"] tag whose 3rd element commits to the target`
    )
  }

  static RATE_LIMITED(what: string, perSecond: number, burst: number): RelayError {
    return new RelayError(
      'RATE_LIMITED',
      `too many ${what} (limit ${perSecond}/s, burst ${burst}): slow down and retry later`
    )
  }

  static AUTH_REQUIRED(what: string): RelayError {
    return new RelayError(
      'AUTH_REQUIRED',
      `${what} needs NIP-42 authentication: answer the relay's AUTH challenge with a kind 22242 event signed by that key`
    )
  }

  static AUTH_RESTRICTED(pubkey: string): RelayError {
    return new RelayError(
      'AUTH_RESTRICTED',
      `this connection is not authenticated as ${pubkey.slice(0, 16)}…, the event's author: authenticate (NIP-42) ` +
        'as the author too, or publish from a connection that is'
    )
  }

  static AUTH_INVALID(why: string): RelayError {
    return new RelayError('AUTH_INVALID', `authentication refused: ${why}; sign a fresh kind 22242 event (NIP-42)`)
  }

  static AUTH_AS_EVENT(): RelayError {
    return new RelayError(
      'AUTH_INVALID',
      'kind 22242 authenticates a connection (NIP-42) and is never stored: send it as ["AUTH", event], not as an EVENT'
    )
  }

  static EXPIRED(expiration: number): RelayError {
    return new RelayError(
      'EXPIRED',
      `event expired at ${expiration} (NIP-40 expiration tag): it is never stored; sign it again with a later expiration`
    )
  }
}

export function isRelayError(err: unknown): err is RelayError {
  return err instanceof RelayError
}
