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
  | 'POW_TOO_SLOW'
  | 'POW_REFUSED'
  | 'POW_NEEDS_KEY'
  | 'POW_FAILED'

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
  /** Mining `bits` for `kind` took longer than the bound: which relays asked, what to do instead. */
  static POW_TOO_SLOW(relays: string[], kind: number, bits: number, triedMs: number): NostrError {
    return new NostrError(
      'POW_TOO_SLOW',
      `${relayList(relays) || 'the relays'} want ${bits} bits of proof of work for kind ${kind}; mining gave up after ` +
        `${Math.round(triedMs / 1000)} s. Try again, allow more time (--pow-timeout=SECONDS), or use another relay`
    )
  }
  /** The relays still refused for proof of work after one mined retry (SPEC §12.4: no second). */
  static POW_REFUSED(relays: string[], kind: number, reason: string): NostrError {
    return new NostrError(
      'POW_REFUSED',
      `${relayList(relays)} refused the kind ${kind} event for its proof of work even after mining to the price ` +
        `their NIP-11 document and refusal named ("${printable(reason, 200)}"); use another relay or ask its operator`
    )
  }
  /** The mining worker itself failed (it crashed, or could not start): nothing was published. */
  static POW_FAILED(why: string): NostrError {
    return new NostrError(
      'POW_FAILED',
      `mining the proof of work failed (${printable(why, 200)}); nothing was published: try again, and report it if it repeats`
    )
  }
  static POW_NEEDS_KEY(kind: number, bits: number): NostrError {
    return new NostrError(
      'POW_NEEDS_KEY',
      `a kind ${kind} event needs ${bits} bits of proof of work, and only the pool's own key can sign it again after ` +
        'mining: give the pool its secretKey, or publish the event as mined'
    )
  }
}

/** A relay's words, bounded and without control characters, before a person reads them. */
export function printable(text: string, max: number): string {
  return text.slice(0, max).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
}

/** Relay URLs may come from a stranger's `relays` tag: bounded and without control characters. */
function relayList(relays: string[]): string {
  return relays.map((r) => printable(r, 200)).join(', ')
}
