export { findProviders, resolveProvider } from './discovery.js'
export type { ProviderInfo } from './discovery.js'
export { NostrError } from './errors.js'
export type { NostrErrorCode } from './errors.js'
export { makeBinding, verifyBinding, secretForms, parsePubkey, npubOf, SWARM_TAG } from './identity.js'
export {
  keyEntryFlags,
  keysFileCandidates,
  findKeysFile,
  readKeysFile,
  writeKeyEntry,
  loadIdentity,
  KEYS_FILE
} from './keys.js'
export type { KeyEntry, Identity } from './keys.js'
export { REDIAL_BACKOFF_MS, DEFAULT_MAX_POW_BITS, RelayPool } from './pool.js'
export type { RelayPoolOptions, PublishOptions, Published, PoolLog } from './pool.js'
export { readRelayPolicy, POLICY_TIMEOUT_MS, MAX_POLICY_BYTES } from './policy.js'
export type { ReadPolicyOptions } from './policy.js'
export { mineEvent, DEFAULT_POW_TIMEOUT_MS, POW_TIMEOUT_FLAG, powTimeoutMs } from './pow.js'
export type { MineOptions } from './pow.js'
export { PRESENCE_D_TAG, Presence } from './presence.js'
export type { PresenceInfo, Load, PresenceOptions } from './presence.js'
