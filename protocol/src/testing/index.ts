// Test tools for every package: an in-memory transport, and a raw peer that sends whatever frames
// a hostile peer would, bypassing SessionChannel's checks. Not used by the apps.
export { pipePair } from './pipe.js'
export { rawPeer } from './raw-peer.js'
export type { RawPeer } from './raw-peer.js'
export { openRawChannel, muxFrame } from './raw-channel.js'
export type { RawChannelHandlers, RawChannel } from './raw-channel.js'
