export type NostrErrorCode =
  | 'KEYS_FILE_INVALID'
  | 'KEYS_FILE_UNWRITABLE'
  | 'INVALID_PUBKEY'
  | 'IDENTITY_MISSING'
  | 'IDENTITY_INVALID'
  | 'IDENTITY_MISMATCH'
  | 'IDENTITY_WRONG_PROVIDER'
  | 'PROVIDER_NOT_FOUND'
  | 'NO_RELAYS'

export class NostrError extends Error {
  readonly code: NostrErrorCode

  constructor(code: NostrErrorCode, message: string) {
    super(message)
    this.name = 'NostrError'
    this.code = code
  }

  static KEYS_FILE_INVALID(path: string, why: string): NostrError {
    return new NostrError(
      'KEYS_FILE_INVALID',
      `${path} is not a usable keys file: ${why}. Fix or move it; it is JSON keyed by agent name`
    )
  }
  static KEYS_FILE_UNWRITABLE(path: string, why: string): NostrError {
    return new NostrError('KEYS_FILE_UNWRITABLE', `cannot write ${path}: ${why}. Choose another with --keys-file`)
  }
  static INVALID_PUBKEY(value: string): NostrError {
    // Never echo what might be a secret key pasted by mistake.
    const shown = /^nsec1/i.test(value) ? 'an nsec (a secret key: keep it private!)' : `"${value.slice(0, 12)}…"`
    return new NostrError('INVALID_PUBKEY', `${shown} is not a Nostr public key: give an npub1… or 64 hex digits`)
  }
  static IDENTITY_MISSING(expected: string): NostrError {
    return new NostrError(
      'IDENTITY_MISSING',
      `the peer proves no Nostr identity, but ${expected} was asked for: refusing it`
    )
  }
  static IDENTITY_INVALID(why: string): NostrError {
    return new NostrError(
      'IDENTITY_INVALID',
      `the peer's identity proof is not valid (${why}): it may be an impostor; refusing it`
    )
  }
  static IDENTITY_MISMATCH(): NostrError {
    return new NostrError(
      'IDENTITY_MISMATCH',
      "the peer's identity proof names another swarm key than the one it connected with: an impostor replaying someone's proof; refusing it"
    )
  }
  static IDENTITY_WRONG_PROVIDER(got: string, expected: string): NostrError {
    return new NostrError(
      'IDENTITY_WRONG_PROVIDER',
      `the peer is ${got}, not the provider asked for (${expected}); refusing it`
    )
  }
  static PROVIDER_NOT_FOUND(npub: string, relays: string[]): NostrError {
    return new NostrError(
      'PROVIDER_NOT_FOUND',
      `no handler or heartbeat from ${npub} on ${relays.join(', ')}: is it online, and are these its relays? Try --relays`
    )
  }
  /** `need` says what wanted relays (finding providers, finding one npub); `otherwise` is another way, if any. */
  static NO_RELAYS(need = 'finding providers', otherwise = ''): NostrError {
    return new NostrError(
      'NO_RELAYS',
      `${need} needs Nostr relays: pass --relays (or --devnet for the local relay)${otherwise ? `, or ${otherwise}` : ''}`
    )
  }
}
