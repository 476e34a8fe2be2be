// What a processor is to the job loop: one function from a paid request's work to its output
// bytes, under limits the caller sets. The caller has already resolved the input (url, event and
// job inputs arrive as text) and bounded the params; a processor bounds everything it produces.

/** NIP-90 input types (`["i", data, type]`); a processor sees them only as a hint. */
export type InputType = 'text' | 'url' | 'event' | 'job'

export interface JobWork {
  /** The request kind, 5000-5999. */
  kind: number
  /** The resolved input text. */
  input: string
  inputType: InputType
  /** From `["param", key, value]` tags. */
  params: Record<string, string>
}

export interface JobOutput {
  data: Uint8Array
  /** `text/plain; charset=utf-8` for text, `image/png` (or the sniffed image type) for images. */
  mime: string
}

export interface RunLimits {
  /** Aborting it (a cancellation, a shutdown) stops the work: ABORTED. */
  signal: AbortSignal
  /** Wall-clock budget of one run: PROCESSOR_TIMEOUT after it. */
  timeoutMs: number
  /** Largest output accepted: OUTPUT_TOO_LARGE above it, and the work is stopped. */
  maxOutputBytes: number
}

export interface Processor {
  /** One line for the agent's log and --help: what runs, never a secret. */
  readonly describe: string
  run(work: JobWork, limits: RunLimits): Promise<JobOutput>
  /** True when this kind's output will be an image (an encrypted request of it is refused up front). */
  imageOutput?(kind: number): boolean
}

/** `--api`: the HTTP adapters. */
export type ApiName = 'a1111' | 'ollama' | 'openai'

export interface ProcessorOptions {
  /** The HTTP adapter; detected when absent. */
  api?: ApiName
  /** The model name for Ollama (required) and OpenAI-compatible upstreams (optional). */
  model?: string
}
