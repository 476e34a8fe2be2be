export { startBlossomServer, DEFAULT_MAX_UPLOAD_BYTES } from './server.js'
export type { BlossomServerOptions, RunningBlossomServer } from './server.js'
export { BlossomServerError } from './errors.js'
export type { BlossomServerErrorCode } from './errors.js'
