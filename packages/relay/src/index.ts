export { startRelay, DEFAULT_LIMITS, MAX_QUERY_LIMIT } from './server.js'
export type { RelayOptions, RelayLimits, RunningRelay } from './server.js'
export { RelayError, isRelayError } from './errors.js'
export type { RelayErrorCode } from './errors.js'
