export * from './constants.js'
export * from './errors.js'
export * from './billing.js'
export * from './messages.js'
export * from './reasons.js'
import * as kinds from './kinds.js'
export { kinds }
export * from './topic.js'
export * from './channel.js'
