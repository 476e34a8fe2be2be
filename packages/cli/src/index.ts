export * from './args.js'
export * from './errors.js'
export * from './log.js'
export * from './run.js'
