export { Tunnel, StreamResetError, TunnelStream } from './tunnel.js'
export type { TunnelOptions, TunnelStats } from './tunnel.js'
