export * from './bins.js'
export * from './network.js'
