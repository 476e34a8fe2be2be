export * from './errors.js'
export * from './network.js'
export * from './swarm.js'
