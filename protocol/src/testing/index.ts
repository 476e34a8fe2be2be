// Test tools for every package: an in-memory transport, and a raw peer that sends whatever frames
// a hostile peer would, bypassing SessionChannel's checks. Not used by the apps.
export * from './pipe.js'
export * from './raw-peer.js'
export * from './raw-channel.js'
