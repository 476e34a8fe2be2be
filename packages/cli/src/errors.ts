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

  // The devnet state file (devnet-state.ts): --devnet names a local network that is not there.
  static NO_DEVNET(path: string): CliError {
    return new CliError(
      'NO_DEVNET',
      `no local network state at ${path}: start one with 2020117-devnet (or pass --devnet=DIR where it runs)`
    )
  }

  static STATE_CORRUPT(path: string): CliError {
    return new CliError('STATE_CORRUPT', `${path} is not a devnet state file: delete it and restart 2020117-devnet`)
  }

  static NOT_RUNNING(dir: string): CliError {
    return new CliError(
      'NOT_RUNNING',
      `the local network in ${dir} is not running: start it with 2020117-devnet --dir=${dir}`
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

  static TUNNEL_UNAVAILABLE(why: string): CliError {
    return new CliError(
      'TUNNEL_UNAVAILABLE',
      `the tunnel to the provider could not carry this request: ${why}. Try again; the session's log says more`
    )
  }

  static INVALID_ENV(envName: string, value: string, bin: string): CliError {
    return new CliError('INVALID_ENV', `${envName} must be true or false, got "${value}". See ${bin} --help.`, 2)
  }

  static INVALID_ARGUMENTS(why: string, bin: string): CliError {
    return new CliError('INVALID_ARGUMENTS', `${why}. See ${bin} --help.`, 2)
  }

  static MISSING_ARGUMENT(what: string): CliError {
    return new CliError('MISSING_ARGUMENT', what, 2)
  }

  static PORT_IN_USE(host: string, port: number): CliError {
    return new CliError('PORT_IN_USE', `port ${port} on ${host} is in use: choose another with --port`, 2)
  }

  static NO_USABLE_PROVIDER(kind: number): CliError {
    return new CliError(
      'NO_USABLE_PROVIDER',
      `no provider of kind ${kind} has a free slot and a payment method this client supports; try again later`
    )
  }

  /** `who` is the provider's key, never provider text: a name could say "1 sats/min" beside the real price. */
  static CONFIRMATION_REQUIRED(who: string, price: number): CliError {
    return new CliError(
      'CONFIRMATION_REQUIRED',
      `${who} asks ${price} sats/min: pass --yes, or --max-price=${price} to accept prices up to that without asking`,
      2
    )
  }

  static DECLINED(): CliError {
    return new CliError('DECLINED', 'you declined the price; nothing was paid', 2)
  }

  static WALLET_CANNOT_PAY(): CliError {
    return new CliError('WALLET_CANNOT_PAY', 'this NWC connection may not pay_invoice: enable it in your wallet')
  }

  static WALLET_CANNOT_INVOICE(): CliError {
    return new CliError(
      'WALLET_CANNOT_INVOICE',
      'this NWC connection may not make_invoice: enable it in your wallet, or use --lightning-address'
    )
  }

  static WALLET_NETWORK_MISMATCH(walletNetwork: string, expected: string, flagValue: string): CliError {
    return new CliError(
      'WALLET_NETWORK_MISMATCH',
      `the wallet is on ${walletNetwork}, invoices are expected on ${expected}: pass --network=${flagValue} if that is intended`
    )
  }
}
