export { testHome, spawnBin, killAll, BINS } from './bins.js'
export type { BinName, Proc } from './bins.js'
export { startTestNetwork } from './network.js'
export type { TestNetwork } from './network.js'
export {
  socketInodes,
  procNetSockets,
  processSockets,
  asIPv4,
  parseEndpoint,
  processExists,
  childPids,
  TCP_LISTEN
} from './sockets.js'
export type { SocketProtocol, ProcSocket } from './sockets.js'
