export * from './bins.js'
export * from './network.js'
export * from './sockets.js'
