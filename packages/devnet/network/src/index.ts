export {
  startDevnet,
  DEFAULT_DHT_PORT,
  DEFAULT_RELAY_PORT,
  DEFAULT_WEBUI_PORT,
  DEFAULT_BLOSSOM_PORT,
  DEFAULT_LNURL_PORT,
  NETWORK_PARTS
} from './devnet.js'
export type { DevnetOptions, NetworkPart, Devnet } from './devnet.js'
export type { RelayPolicyFlags, SpawnedRelay } from './relay.js'
export { DevnetError } from './errors.js'
export type { DevnetErrorCode } from './errors.js'
export {
  statePath,
  writeState,
  readState,
  isRunning,
  readRunningState,
  DEFAULT_DEVNET_DIR,
  STATE_FILE
} from './state.js'
export type { DevnetState } from './state.js'
