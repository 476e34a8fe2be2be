export * from './tunnel.js'
