// HTTP/1.1 as 2020117's gateways read it (RFC 9112): request heads parsed whole, response
// heads parsed for their framing, and bodies of both scanned byte by byte for where they end,
// never copied or re-encoded. The gateway needs no more than this to police requests and keep
// keep-alive and pipelining right, and each body byte passes through once.
//
// Why not a library: Node's llhttp is reachable only inside node:http, which re-serialises every
// body, and http-parser-js (the pure-JS one) is lenient where a policing gateway must not be: it
// lets chunked win over a Content-Length, reads "0x10" as a length, and folds obs-fold lines. A
// request that the gateway and the upstream frame differently is a smuggled request past the deny
// list, so every ambiguity is refused here (RFC 9112 §6.3, §11.2).

/** Bytes of a request head at most (Node's own default limit); more is refused with 431. */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024
/** Bytes of a response head at most, from the provider's own service; more is a bad response. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024
const MAX_HEADER_LINES = 100
/** A chunk-size line (with its extensions), or a trailer section, at most. */
const MAX_CHUNK_LINE_BYTES = 4096
const MAX_TRAILER_BYTES = 16 * 1024

export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' }

export interface RequestHead {
  method: string
  target: string
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1
  /** In order, names as sent. */
  headers: Array<[name: string, value: string]>
  body: Framing
  /** Whether the client may send another request on this connection after this one. */
  keepAlive: boolean
  /**
   * A WebSocket handshake: Connection: upgrade and Upgrade: websocket. No other protocol is
   * switched to (an h2c upgrade would carry requests that no head check ever sees).
   */
  upgrade: boolean
}

export interface ResponseHead {
  status: number
  keepAlive: boolean
}

/** A head that cannot be read; `status` is what the client is answered. */
export class HeadError extends Error {
  readonly status: 400 | 431 | 501 | 502
  constructor(status: 400 | 431 | 501 | 502, message: string) {
    super(message)
    this.name = 'HeadError'
    this.status = status
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: [\t\x20-\x7e\x80-\xff]*)?$/
// Field values: visible characters, spaces, tabs and obs-text; never NUL, CR, LF or other controls.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
const DIGITS = /^[0-9]{1,15}$/

/** Where the head in `buf` ends (just past its empty line), or -1 while it has not. */
export function headEnd(buf: Buffer): number {
  const i = buf.indexOf('\r\n\r\n', 0, 'latin1')
  return i < 0 ? -1 : i + 4
}

/** Parses a request head (its bytes up to and including the empty line). */
export function parseRequestHead(head: Buffer): RequestHead {
  // A client may send empty lines before a request (RFC 9112 §2.2); they are skipped.
  const lines = head
    .toString('latin1', 0, head.length - 4)
    .replace(/^(\r\n)+/, '')
    .split('\r\n')
  const m = REQUEST_LINE.exec(lines[0] ?? '')
  if (!m) throw new HeadError(400, 'the request line is not METHOD /target HTTP/1.x')
  const f = fields(lines, 400)
  const minor = m[3] === '1' ? 1 : 0
  if (f.hosts > 1) throw new HeadError(400, 'more than one Host header')
  if (minor === 1 && f.hosts === 0) throw new HeadError(400, 'an HTTP/1.1 request must have a Host header')
  return {
    method: m[1] as string,
    target: m[2] as string,
    minor,
    headers: f.headers,
    body: requestFraming(f, minor),
    keepAlive: minor === 1 ? !f.connection.includes('close') : f.connection.includes('keep-alive'),
    upgrade: f.connection.includes('upgrade') && f.upgrade.join() === 'websocket'
  }
}

/** Parses a response head and says how its body is framed, given the request it answers. */
export function parseResponseHead(head: Buffer, request: RequestHead): ResponseHead & { body: Framing } {
  const lines = head.toString('latin1', 0, head.length - 4).split('\r\n')
  const m = STATUS_LINE.exec(lines[0] ?? '')
  if (!m) throw new HeadError(502, "the provider's service sent a malformed status line")
  const status = Number(m[1])
  const f = fields(lines, 502)
  const minor = lines[0]?.startsWith('HTTP/1.1') ? 1 : 0
  const keepAlive = minor === 1 ? !f.connection.includes('close') : f.connection.includes('keep-alive')
  return { status, keepAlive, body: responseFraming(f, status, request) }
}

/** Names of the headers that ask to switch protocols, in lower case. */
const SWITCH_ASKS = new Set(['upgrade', 'http2-settings'])

/**
 * Leaves a request that is not a WebSocket handshake without any ask to switch protocols: no
 * Upgrade or HTTP2-Settings header, no such token in Connection.
 */
export function dropUpgrade(head: RequestHead): void {
  if (head.upgrade || !asksToSwitch(head.headers)) return
  head.headers = head.headers
    .filter(([name]) => !SWITCH_ASKS.has(name.toLowerCase()))
    .map(([name, value]): [string, string] => {
      if (name.toLowerCase() !== 'connection') return [name, value]
      return [
        name,
        value
          .split(',')
          .filter((t) => !SWITCH_ASKS.has(t.trim().toLowerCase()))
          .join(',')
          .trim()
      ]
    })
    .filter(([name, value]) => name.toLowerCase() !== 'connection' || value !== '')
}

/**
 * Whether dropUpgrade would change anything: most requests ask nothing, and their headers are left
 * as they are, not rebuilt. (A Connection value it would trim, or drop as empty, counts as a change.)
 */
function asksToSwitch(headers: Array<[string, string]>): boolean {
  for (const [name, value] of headers) {
    const lower = name.toLowerCase()
    if (SWITCH_ASKS.has(lower)) return true
    if (lower !== 'connection') continue
    const trimmed = value.trim()
    if (trimmed !== value || trimmed === '' || listTokens(value).some((t) => SWITCH_ASKS.has(t))) return true
  }
  return false
}

/** Serialises a request head. */
export function requestHeadBytes(head: RequestHead): Buffer {
  let out = `${head.method} ${head.target} HTTP/1.${head.minor}\r\n`
  for (const [name, value] of head.headers) out += `${name}: ${value}\r\n`
  return Buffer.from(out + '\r\n', 'latin1')
}

/**
 * A head's header lines, checked, and what framing and routing read of them: the tokens of each
 * such header, lower-cased (null for a header that is not there at all). Read in one pass, with
 * each name lower-cased once: a gateway reads two heads for every request it forwards.
 */
interface Fields {
  /** In order, names as sent. */
  headers: Array<[string, string]>
  connection: string[]
  upgrade: string[]
  transferEncoding: string[] | null
  contentLength: string[] | null
  hosts: number
}

function fields(lines: string[], status: 400 | 502): Fields {
  if (lines.length - 1 > MAX_HEADER_LINES) throw new HeadError(status === 400 ? 431 : 502, 'too many header lines')
  const f: Fields = { headers: [], connection: [], upgrade: [], transferEncoding: null, contentLength: null, hosts: 0 }
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string
    // obs-fold (a line starting with a space or tab) is refused, not folded (RFC 9112 §5.2).
    const colon = line.indexOf(':')
    const name = colon > 0 ? line.slice(0, colon) : ''
    const value = trimOws(line.slice(colon + 1))
    if (!TOKEN.test(name))
      throw new HeadError(status, `a header line is malformed: ${JSON.stringify(line.slice(0, 40))}`)
    if (!FIELD_VALUE.test(value))
      throw new HeadError(status, `the ${name.slice(0, 40)} header holds a control character`)
    f.headers.push([name, value])
    switch (name.toLowerCase()) {
      case 'connection':
        f.connection.push(...listTokens(value))
        break
      case 'upgrade':
        f.upgrade.push(...listTokens(value))
        break
      case 'transfer-encoding':
        ;(f.transferEncoding ??= []).push(...listTokens(value))
        break
      case 'content-length':
        ;(f.contentLength ??= []).push(...listTokens(value))
        break
      case 'host':
        f.hosts++
    }
  }
  return f
}

/**
 * The value without the spaces and tabs around it. By index, not a regex: `/[ \t]+$/` backtracks
 * over every run of spaces in a 16 KiB value (quadratic), and String.prototype.trim would also
 * take 0xA0, an obs-text byte that belongs to the value.
 */
function trimOws(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && (value[start] === ' ' || value[start] === '\t')) start++
  while (end > start && (value[end - 1] === ' ' || value[end - 1] === '\t')) end--
  return value.slice(start, end)
}

/** The comma-separated tokens of one header value, lower-cased, empty ones left out. */
function listTokens(value: string): string[] {
  const out: string[] = []
  for (const t of value.split(',')) {
    const token = t.trim().toLowerCase()
    if (token) out.push(token)
  }
  return out
}

/** The one Content-Length of a message, null without one; several that differ are refused. */
function contentLength(f: Fields, status: 400 | 502): number | null {
  const values = f.contentLength
  if (values === null) return null
  if (values.length === 0) throw new HeadError(status, 'an empty Content-Length')
  if (!values.every((v) => DIGITS.test(v) && v === values[0]))
    throw new HeadError(status, 'Content-Length is not one decimal number')
  return Number(values[0])
}

function requestFraming(f: Fields, minor: 0 | 1): Framing {
  const codings = f.transferEncoding
  const length = contentLength(f, 400)
  if (codings !== null) {
    // Both framings at once is the classic smuggling request: refused, never resolved either way.
    if (length !== null) throw new HeadError(400, 'both Transfer-Encoding and Content-Length')
    if (minor === 0) throw new HeadError(400, 'Transfer-Encoding in an HTTP/1.0 request')
    if (codings.length !== 1 || codings[0] !== 'chunked')
      throw new HeadError(501, 'only Transfer-Encoding: chunked is served in a request')
    return { kind: 'chunked' }
  }
  return length === null || length === 0 ? { kind: 'none' } : { kind: 'length', length }
}

function responseFraming(f: Fields, status: number, request: RequestHead): Framing {
  if (request.method === 'HEAD' || status < 200 || status === 204 || status === 304) return { kind: 'none' }
  const codings = f.transferEncoding
  if (codings !== null) return codings[codings.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' }
  const length = contentLength(f, 502)
  if (length === null) return { kind: 'close' }
  return length === 0 ? { kind: 'none' } : { kind: 'length', length }
}

/**
 * Finds where a body ends in the bytes that pass, without keeping or changing them. `scan`
 * returns how many bytes of `chunk` belong to the body; once `done`, the rest is the next message.
 */
export class BodyScanner {
  done: boolean
  private readonly kind: Framing['kind']
  private left: number
  /** Chunked: where in the chunk grammar the scanner is. */
  private state: 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer' = 'size'
  private line = ''
  private trailerBytes = 0
  /** What a malformed body is answered with: 400 for a request's, 502 for a response's. */
  private readonly status: 400 | 502

  constructor(framing: Framing, status: 400 | 502) {
    this.status = status
    this.kind = framing.kind
    this.left = framing.kind === 'length' ? framing.length : 0
    this.done = framing.kind === 'none'
  }

  /** The body bytes at the start of `chunk`; throws on a malformed chunked body. */
  scan(chunk: Buffer): number {
    if (this.done) return 0
    if (this.kind === 'close') return chunk.length
    if (this.kind === 'length') {
      const n = Math.min(this.left, chunk.length)
      this.left -= n
      this.done = this.left === 0
      return n
    }
    let i = 0
    while (i < chunk.length && !this.done) i = this.step(chunk, i)
    return i
  }

  /** Whether the end of the connection ends this body cleanly (only a close-delimited one). */
  endsAtClose(): boolean {
    return this.done || this.kind === 'close'
  }

  private step(chunk: Buffer, i: number): number {
    switch (this.state) {
      case 'data': {
        const n = Math.min(this.left, chunk.length - i)
        this.left -= n
        if (this.left === 0) this.state = 'data-cr'
        return i + n
      }
      case 'data-cr':
      case 'data-lf': {
        const want = this.state === 'data-cr' ? 0x0d : 0x0a
        if (chunk[i] !== want) throw new HeadError(this.status, 'a chunk is not followed by CRLF')
        this.state = this.state === 'data-cr' ? 'data-lf' : 'size'
        return i + 1
      }
      default:
        return this.lineStep(chunk, i)
    }
  }

  /** The chunk-size line, or a trailer line: read up to its LF, bounded. */
  private lineStep(chunk: Buffer, i: number): number {
    const lf = chunk.indexOf(0x0a, i)
    const end = lf < 0 ? chunk.length : lf + 1
    this.line += chunk.toString('latin1', i, end)
    if (
      this.state === 'size'
        ? this.line.length > MAX_CHUNK_LINE_BYTES
        : this.trailerBytes + this.line.length > MAX_TRAILER_BYTES
    )
      throw new HeadError(this.status, 'a chunk line or the trailers are too long')
    if (lf < 0) return end
    const line = this.line
    this.line = ''
    if (!line.endsWith('\r\n')) throw new HeadError(this.status, 'a chunk line does not end in CRLF')
    const text = line.slice(0, -2)
    if (this.state === 'trailer') {
      this.trailerBytes += line.length
      if (text === '') this.done = true
      else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/.test(text))
        throw new HeadError(this.status, 'a trailer line is malformed')
      return end
    }
    const m = /^([0-9A-Fa-f]{1,12})(?:[ \t]*;[\t\x20-\x7e]*)?$/.exec(text)
    if (!m) throw new HeadError(this.status, 'a chunk size is not hexadecimal')
    this.left = parseInt(m[1] as string, 16)
    this.state = this.left === 0 ? 'trailer' : 'data'
    return end
  }
}
