export type SwarmErrorCode = 'INVALID_BOOTSTRAP' | 'NO_PROVIDERS' | 'CONNECT_TIMEOUT'

export class SwarmError extends Error {
  readonly code: SwarmErrorCode

  constructor(code: SwarmErrorCode, message: string) {
    super(message)
    this.name = 'SwarmError'
    this.code = code
  }

  static INVALID_BOOTSTRAP(value: string): SwarmError {
    return new SwarmError(
      'INVALID_BOOTSTRAP',
      `bootstrap "${value}" is not a host:port list, e.g. 127.0.0.1:20117,10.0.0.2:49737`
    )
  }

  static NO_PROVIDERS(kind: number, seconds: number): SwarmError {
    return new SwarmError(
      'NO_PROVIDERS',
      `no providers for kind ${kind} found in ${seconds} s: is a provider running? Try --devnet for the local network, or --bootstrap for another DHT`
    )
  }

  static CONNECT_TIMEOUT(who: string, seconds: number): SwarmError {
    return new SwarmError(
      'CONNECT_TIMEOUT',
      `could not reach ${who} in ${seconds} s: is it online? Check the key and the network (--devnet / --bootstrap)`
    )
  }
}
