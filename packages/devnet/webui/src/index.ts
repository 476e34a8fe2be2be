// @2020117/webui: a demo stand-in for Stable Diffusion WebUI (AUTOMATIC1111), rented out in the
// demo and pushed through the tunnel by the end-to-end tests. See server.ts for the endpoints.

export { startWebUI, DEFAULT_PORT, DEFAULT_STEP_DELAY_MS, QUEUE_SOCKET_PATH } from './server.js'
export type { WebUIOptions, RunningWebUI } from './server.js'
export { renderImage } from './image.js'
export type { RenderParams } from './image.js'
export { WebUIError } from './errors.js'
export type { WebUIErrorCode, WebUIErrorBody } from './errors.js'
export { downloadBytes, downloadChunks, downloadSha256, downloadKey, MAX_DOWNLOAD_BYTES } from './bytes.js'
export { parseGenerationParams, LIMITS, DEFAULTS } from './params.js'
export type { GenerationParams } from './params.js'
export { MAX_JSON_BYTES } from './http.js'
export { PAGE_TITLE, renderPage } from './page.js'
