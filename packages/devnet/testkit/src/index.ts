export { spawnProcess, parseJson } from './process.js'
export type { Proc, SpawnOptions, WaitOptions, Found, Line, Stream } from './process.js'
export { testHome, spawnBin, killAll, BINS } from './bins.js'
export type { BinName } from './bins.js'
export { startTestNetwork, TEST_RELAY_POLICY } from './network.js'
export type { TestNetwork } from './network.js'
export { zap } from './zaps.js'
export type { ZapOptions } from './zaps.js'
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
export {
  signInvoice,
  amountlessInvoice,
  hintedInvoice,
  rawInvoice,
  featureWords,
  words,
  NETWORKS,
  NODE_A,
  NODE_B
} from './invoices.js'
export type { MadeInvoice, RawField } from './invoices.js'
