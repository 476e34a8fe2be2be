export * from './devnet.js'
export * from './errors.js'
export * from './state.js'
