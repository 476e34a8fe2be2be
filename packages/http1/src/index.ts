export {
  BodyScanner,
  dropUpgrade,
  HeadError,
  headEnd,
  MAX_REQUEST_HEAD_BYTES,
  MAX_RESPONSE_HEAD_BYTES,
  parseRequestHead,
  parseResponseHead,
  requestHeadBytes
} from './http1.js'
export type { Framing, RequestHead, ResponseHead } from './http1.js'
export { BODY_IDLE_MS, ConnectionPool, MAX_READ_AHEAD, relayHttp } from './relay.js'
export type { Far, PoolOptions, Refusal, RelayOptions } from './relay.js'
