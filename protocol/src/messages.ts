// All wire codecs in one place (SPEC §3-4). A frame is `type:uint` followed by the message body;
// bodies are compact-encoding fields in the order listed here. Decoding is strict: every length is
// checked against its bound before anything is read or allocated, varints must be minimal, flag
// bits must be known and no byte may trail the body, so every accepted frame re-encodes to itself.

import b4a from 'b4a'
import c from 'compact-encoding'
import * as K from './constants.js'
import { ProtocolError } from './errors.js'

export type Role = 'customer' | 'provider'

export interface Handshake {
  version: number
  role: Role
  software: string
}

export interface Offer {
  kind: number
  satsPerMinute: number
}

export interface ErrorMessage {
  type: 'error'
  code: string
  message: string
}

export interface SkillRequest {
  type: 'skill_request'
  kind: number
}

export interface SkillResponse {
  type: 'skill_response'
  /** A JSON object, as text, at most MAX_MANIFEST_BYTES. */
  manifest: string
  offers: Offer[]
  tickSeconds: number
  paymentMethods: string[]
  /** Free session slots right now. */
  capacity: number
  maxSessions: number
  /** A signed Nostr event binding the provider's Nostr key to its swarm key (SPEC §7), or null. */
  identity: string | null
}

export interface SessionStart {
  type: 'session_start'
  kind: number
  budgetSats: number
  maxSatsPerMinute: number
  paymentMethod: string
  customerPubkey: Uint8Array | null
}

export interface SessionAck {
  type: 'session_ack'
  sessionId: Uint8Array
  satsPerMinute: number
  tickSeconds: number
  graceSeconds: number
  /** Agreed at start so that only this customer can resume the session after a drop. */
  resumeSecret: Uint8Array
}

export interface SessionReject {
  type: 'session_reject'
  code: string
  message: string
}

export interface Tick {
  type: 'tick'
  sessionId: Uint8Array
  seq: number
  amountMsat: number
  bolt11: string
  /** The period paid for, in whole seconds since session_ack: [periodStart, periodEnd). */
  periodStart: number
  periodEnd: number
}

export interface TickAck {
  type: 'tick_ack'
  sessionId: Uint8Array
  seq: number
  preimage: Uint8Array
}

export interface TickReceipt {
  type: 'tick_receipt'
  sessionId: Uint8Array
  seq: number
  /** Seconds since session_ack up to which the session is paid and verified. */
  paidUntil: number
}

export interface SessionEnd {
  type: 'session_end'
  sessionId: Uint8Array
  by: Role
  reason: string
  message: string
  ticksPaid: number
  msatPaid: number
  durationMs: number
}

export interface SessionResume {
  type: 'session_resume'
  sessionId: Uint8Array
  resumeSecret: Uint8Array
}

export interface SessionResumed {
  type: 'session_resumed'
  sessionId: Uint8Array
  satsPerMinute: number
  tickSeconds: number
  graceSeconds: number
  /** The seq of the next tick the provider sends: its oldest unpaid bill, re-sent, or a new one. */
  nextSeq: number
  /** Seconds since session start up to which payment is verified. */
  paidUntil: number
  /** Milliseconds since session start, by the provider's clock. */
  elapsedMs: number
}

export interface StreamOpen {
  type: 'stream_open'
  streamId: number
}

export interface StreamData {
  type: 'stream_data'
  streamId: number
  data: Uint8Array
}

export interface StreamCredit {
  type: 'stream_credit'
  streamId: number
  bytes: number
}

export interface StreamEnd {
  type: 'stream_end'
  streamId: number
}

export interface StreamReset {
  type: 'stream_reset'
  streamId: number
  code: string
  message: string
}

export type StreamMessage = StreamOpen | StreamData | StreamCredit | StreamEnd | StreamReset

export type Message =
  | ErrorMessage
  | SkillRequest
  | SkillResponse
  | SessionStart
  | SessionAck
  | SessionReject
  | Tick
  | TickAck
  | TickReceipt
  | SessionEnd
  | SessionResume
  | SessionResumed
  | StreamMessage

export type MessageType = Message['type']
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>

// -- field encodings ------------------------------------------------------------------------------

interface State {
  start: number
  end: number
  buffer: Uint8Array
}

interface Field<T> {
  preencode(state: State, value: T): void
  encode(state: State, value: T): void
  decode(state: State): T
}

function minimalUintSize(n: number): number {
  return n <= 0xfc ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9
}

function uint(field: string, max: number, min = 0): Field<number> {
  const check = (n: number): number => {
    if (n > max) throw ProtocolError.LIMIT_EXCEEDED(field, n, max)
    if (n < min) throw ProtocolError.INVALID_VALUE(field, `is ${n}, below its minimum of ${min}`)
    return n
  }
  return {
    preencode(state, n) {
      if (!Number.isSafeInteger(n)) throw ProtocolError.INVALID_VALUE(field, 'must be a non-negative integer')
      c.uint.preencode(state, check(n))
    },
    encode(state, n) {
      c.uint.encode(state, n)
    },
    decode(state) {
      const at = state.start
      const n: number = c.uint.decode(state)
      if (state.start - at !== minimalUintSize(n)) throw ProtocolError.DECODE_ERROR(`${field} is not a minimal varint`)
      return check(n)
    }
  }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })

function utf8(field: string, max: number, pattern: RegExp | null = null): Field<string> {
  const check = (s: string): string => {
    if (pattern !== null && !pattern.test(s)) throw ProtocolError.INVALID_VALUE(field, `does not match ${pattern}`)
    return s
  }
  return {
    preencode(state, s) {
      if (typeof s !== 'string') throw ProtocolError.INVALID_VALUE(field, 'must be a string')
      const len = b4a.byteLength(s)
      if (len > max) throw ProtocolError.LIMIT_EXCEEDED(`${field} length`, len, max)
      check(s)
      c.uint.preencode(state, len)
      state.end += len
    },
    encode(state, s) {
      c.utf8.encode(state, s)
    },
    decode(state) {
      const len = lengthPrefix(state, `${field} length`, max)
      const bytes = state.buffer.subarray(state.start, state.start + len)
      state.start += len
      let s: string
      try {
        s = fatalUtf8.decode(bytes)
      } catch {
        throw ProtocolError.DECODE_ERROR(`${field} is not valid UTF-8`)
      }
      return check(s)
    }
  }
}

/** Reads a length prefix and makes sure the bytes it announces are bounded and present. */
function lengthPrefix(state: State, field: string, max: number): number {
  const len = uint(field, max).decode(state)
  if (state.end - state.start < len) throw ProtocolError.DECODE_ERROR(`${field} ${len} runs past the frame`)
  return len
}

function json(field: string, max: number): Field<string> {
  const text = utf8(field, max)
  const check = (s: string): string => {
    let v: unknown
    try {
      v = JSON.parse(s)
    } catch {
      throw ProtocolError.INVALID_VALUE(field, 'is not valid JSON')
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw ProtocolError.INVALID_VALUE(field, 'must be a JSON object')
    return s
  }
  return {
    preencode(state, s) {
      text.preencode(state, check(s))
    },
    encode: text.encode,
    decode(state) {
      return check(text.decode(state))
    }
  }
}

function fixed(field: string, n: number): Field<Uint8Array> {
  return {
    preencode(state, b) {
      if (!(b instanceof Uint8Array) || b.byteLength !== n)
        throw ProtocolError.INVALID_VALUE(field, `must be ${n} bytes`)
      state.end += n
    },
    encode(state, b) {
      state.buffer.set(b, state.start)
      state.start += n
    },
    decode(state) {
      if (state.end - state.start < n) throw ProtocolError.DECODE_ERROR(`${field} runs past the frame`)
      // Copy: the frame buffer may be a slice of a larger slab that we must not keep alive.
      const b = b4a.allocUnsafe(n)
      b.set(state.buffer.subarray(state.start, state.start + n))
      state.start += n
      return b
    }
  }
}

/** A length-prefixed byte string. Decoding returns a view into the frame: no copy on the data path. */
function bytes(field: string, max: number): Field<Uint8Array> {
  return {
    preencode(state, b) {
      if (!(b instanceof Uint8Array)) throw ProtocolError.INVALID_VALUE(field, 'must be bytes')
      if (b.byteLength > max) throw ProtocolError.LIMIT_EXCEEDED(`${field} length`, b.byteLength, max)
      c.uint.preencode(state, b.byteLength)
      state.end += b.byteLength
    },
    encode(state, b) {
      c.uint.encode(state, b.byteLength)
      state.buffer.set(b, state.start)
      state.start += b.byteLength
    },
    decode(state) {
      const len = lengthPrefix(state, `${field} length`, max)
      const b = state.buffer.subarray(state.start, state.start + len)
      state.start += len
      return b
    }
  }
}

function array<T>(field: string, item: Field<T>, max: number): Field<T[]> {
  return {
    preencode(state, list) {
      if (!Array.isArray(list)) throw ProtocolError.INVALID_VALUE(field, 'must be an array')
      if (list.length > max) throw ProtocolError.LIMIT_EXCEEDED(`${field} count`, list.length, max)
      c.uint.preencode(state, list.length)
      for (const v of list) item.preencode(state, v)
    },
    encode(state, list) {
      c.uint.encode(state, list.length)
      for (const v of list) item.encode(state, v)
    },
    decode(state) {
      // Every item takes at least one byte, so a count above the bytes left is a lie.
      const len = lengthPrefix(state, `${field} count`, max)
      const list: T[] = []
      for (let i = 0; i < len; i++) list.push(item.decode(state))
      return list
    }
  }
}

function role(field: string): Field<Role> {
  const n = uint(field, 2, 1)
  return {
    preencode(state, r) {
      if (r !== 'customer' && r !== 'provider') throw ProtocolError.INVALID_VALUE(field, 'must be customer or provider')
      n.preencode(state, r === 'customer' ? 1 : 2)
    },
    encode(state, r) {
      n.encode(state, r === 'customer' ? 1 : 2)
    },
    decode(state) {
      return n.decode(state) === 1 ? 'customer' : 'provider'
    }
  }
}

/** Marks a field of a struct as optional: present when its bit in the struct's flags is set. */
interface Optional<T> {
  optional: Field<T>
}

function optional<T>(f: Field<T>): Optional<T> {
  return { optional: f }
}

type Spec = Record<string, Field<any> | Optional<any>>

/**
 * A struct: its fields in declaration order. If any field is optional the body starts with a
 * flags varint whose bit i says whether the i-th optional field is present (absent = null).
 */
function struct<T extends object>(spec: Spec): Field<T> {
  const entries = Object.entries(spec)
  const optionals = entries.filter(([, f]) => 'optional' in f).map(([k]) => k)
  const flagsField = uint('flags', 2 ** optionals.length - 1)
  const flagsOf = (v: any): number => optionals.reduce((flags, k, i) => (v[k] == null ? flags : flags | (1 << i)), 0)
  return {
    preencode(state, v: any) {
      if (optionals.length > 0) flagsField.preencode(state, flagsOf(v))
      for (const [k, f] of entries) {
        if ('optional' in f) {
          if (v[k] != null) f.optional.preencode(state, v[k])
        } else f.preencode(state, v[k])
      }
    },
    encode(state, v: any) {
      if (optionals.length > 0) flagsField.encode(state, flagsOf(v))
      for (const [k, f] of entries) {
        if ('optional' in f) {
          if (v[k] != null) f.optional.encode(state, v[k])
        } else f.encode(state, v[k])
      }
    },
    decode(state) {
      const flags = optionals.length > 0 ? flagsField.decode(state) : 0
      const v: any = {}
      let bit = 0
      for (const [k, f] of entries) {
        if ('optional' in f) v[k] = flags & (1 << bit++) ? f.optional.decode(state) : null
        else v[k] = f.decode(state)
      }
      return v as T
    }
  }
}

// -- message bodies -------------------------------------------------------------------------------

const CODE_PATTERN = /^[A-Z][A-Z0-9_]*$/

const code = (field: string) => utf8(field, K.MAX_CODE_BYTES, CODE_PATTERN)
const text = (field: string) => utf8(field, K.MAX_TEXT_BYTES)
const kind = uint('kind', K.MAX_KIND)
const sessionId = fixed('sessionId', K.SESSION_ID_BYTES)
const seq = uint('seq', K.MAX_SEQ)
const satsPerMinute = uint('satsPerMinute', K.MAX_SATS_PER_MINUTE)
const tickSeconds = uint('tickSeconds', K.MAX_TICK_SECONDS, K.MIN_TICK_SECONDS)
const seconds = (field: string) => uint(field, K.MAX_SECONDS)
const streamId = uint('streamId', K.MAX_STREAM_ID)
const paymentMethod = utf8('paymentMethod', K.MAX_PAYMENT_METHOD_BYTES, /^[a-z0-9][a-z0-9_-]*$/)

export const handshake = struct<Handshake>({
  version: uint('version', 0xffff),
  role: role('role'),
  software: utf8('software', K.MAX_SOFTWARE_BYTES)
})

const offer = struct<Offer>({ kind, satsPerMinute })

const bodies = {
  error: struct<ErrorMessage>({ code: code('code'), message: text('message') }),
  skill_request: struct<SkillRequest>({ kind }),
  skill_response: struct<SkillResponse>({
    manifest: json('manifest', K.MAX_MANIFEST_BYTES),
    offers: array('offers', offer, K.MAX_OFFERS),
    tickSeconds,
    paymentMethods: array('paymentMethods', paymentMethod, K.MAX_PAYMENT_METHODS),
    capacity: uint('capacity', K.MAX_SESSIONS_FIELD),
    maxSessions: uint('maxSessions', K.MAX_SESSIONS_FIELD),
    identity: optional(json('identity', K.MAX_IDENTITY_BYTES))
  }),
  session_start: struct<SessionStart>({
    kind,
    budgetSats: uint('budgetSats', K.MAX_BUDGET_SATS),
    maxSatsPerMinute: uint('maxSatsPerMinute', K.MAX_SATS_PER_MINUTE),
    paymentMethod,
    customerPubkey: optional(fixed('customerPubkey', K.PUBKEY_BYTES))
  }),
  session_ack: struct<SessionAck>({
    sessionId,
    satsPerMinute,
    tickSeconds,
    graceSeconds: uint('graceSeconds', K.MAX_GRACE_SECONDS, 1),
    resumeSecret: fixed('resumeSecret', K.SECRET_BYTES)
  }),
  session_reject: struct<SessionReject>({ code: code('code'), message: text('message') }),
  tick: struct<Tick>({
    sessionId,
    seq,
    amountMsat: uint('amountMsat', K.MAX_MSAT),
    bolt11: utf8('bolt11', K.MAX_BOLT11_BYTES, /^[a-z0-9]+$/),
    periodStart: seconds('periodStart'),
    periodEnd: seconds('periodEnd')
  }),
  tick_ack: struct<TickAck>({ sessionId, seq, preimage: fixed('preimage', K.PREIMAGE_BYTES) }),
  tick_receipt: struct<TickReceipt>({ sessionId, seq, paidUntil: seconds('paidUntil') }),
  session_end: struct<SessionEnd>({
    sessionId,
    by: role('by'),
    reason: code('reason'),
    message: text('message'),
    ticksPaid: uint('ticksPaid', K.MAX_SEQ),
    msatPaid: uint('msatPaid', K.MAX_MSAT),
    durationMs: uint('durationMs', K.MAX_DURATION_MS)
  }),
  session_resume: struct<SessionResume>({ sessionId, resumeSecret: fixed('resumeSecret', K.SECRET_BYTES) }),
  session_resumed: struct<SessionResumed>({
    sessionId,
    satsPerMinute,
    tickSeconds,
    graceSeconds: uint('graceSeconds', K.MAX_GRACE_SECONDS, 1),
    nextSeq: seq,
    paidUntil: seconds('paidUntil'),
    elapsedMs: uint('elapsedMs', K.MAX_DURATION_MS)
  }),
  stream_open: struct<StreamOpen>({ streamId }),
  stream_data: struct<StreamData>({ streamId, data: bytes('data', K.MAX_STREAM_CHUNK) }),
  stream_credit: struct<StreamCredit>({ streamId, bytes: uint('bytes', K.MAX_STREAM_WINDOW, 1) }),
  stream_end: struct<StreamEnd>({ streamId }),
  stream_reset: struct<StreamReset>({ streamId, code: code('code'), message: text('message') })
} satisfies { [T in MessageType]: Field<any> }

/** Wire type ids. Frozen: a number is never reused for another message. */
export const MESSAGE_IDS: { readonly [T in MessageType]: number } = {
  error: 0,
  skill_request: 1,
  skill_response: 2,
  session_start: 3,
  session_ack: 4,
  session_reject: 5,
  tick: 6,
  tick_ack: 7,
  tick_receipt: 8,
  session_end: 9,
  session_resume: 10,
  session_resumed: 11,
  stream_open: 16,
  stream_data: 17,
  stream_credit: 18,
  stream_end: 19,
  stream_reset: 20
}

const NAMES: MessageType[] = []
for (const [name, id] of Object.entries(MESSAGE_IDS)) NAMES[id] = name as MessageType

export const MESSAGE_TYPES: readonly MessageType[] = NAMES

// -- frames ---------------------------------------------------------------------------------------

const typeId = uint('type', K.MAX_SEQ)

function run<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw ProtocolError.DECODE_ERROR(err instanceof Error ? err.message : String(err))
  }
}

function frameBody(msg: Message): [id: number, body: Field<Message>] {
  const id = MESSAGE_IDS[msg.type]
  if (id === undefined) throw ProtocolError.INVALID_VALUE('type', `${String(msg.type)} is not a message type`)
  return [id, bodies[msg.type] as Field<Message>]
}

/**
 * A whole frame as a compact-encoding codec, so that a sender encodes a message (stream data
 * included) straight into the transport's buffer: one copy of the payload, not one into a frame
 * and another into the transport. `encode` must follow `preencode` of the same message, as
 * compact-encoding does. Decoding yields the raw frame, for decodeMessage.
 */
export const frameEncoding = {
  preencode(state: State, msg: Message): void {
    const [id, body] = frameBody(msg)
    const start = state.end
    run(() => {
      c.uint.preencode(state, id)
      body.preencode(state, msg)
    })
    if (state.end - start > K.MAX_FRAME_BYTES) throw ProtocolError.FRAME_TOO_LARGE(state.end - start, K.MAX_FRAME_BYTES)
  },
  encode(state: State, msg: Message): void {
    const [id, body] = frameBody(msg)
    run(() => {
      c.uint.encode(state, id)
      body.encode(state, msg)
    })
  },
  decode(state: State): Uint8Array {
    return c.raw.decode(state)
  }
}

/** Encodes one message as a frame. Throws ProtocolError if any field is out of its bounds. */
export function encodeMessage(msg: Message): Uint8Array {
  const state: State = { start: 0, end: 0, buffer: b4a.alloc(0) }
  frameEncoding.preencode(state, msg)
  state.buffer = b4a.allocUnsafe(state.end)
  frameEncoding.encode(state, msg)
  return state.buffer
}

/** Decodes one frame. Throws nothing but ProtocolError. */
export function decodeMessage(frame: Uint8Array): Message {
  if (!(frame instanceof Uint8Array)) throw ProtocolError.DECODE_ERROR('frame is not bytes')
  if (frame.byteLength > K.MAX_FRAME_BYTES) throw ProtocolError.FRAME_TOO_LARGE(frame.byteLength, K.MAX_FRAME_BYTES)
  return run(() => {
    const state: State = { start: 0, end: frame.byteLength, buffer: frame }
    const id = typeId.decode(state)
    const name = NAMES[id]
    if (name === undefined) throw ProtocolError.UNKNOWN_MESSAGE(id)
    const body: object = bodies[name].decode(state)
    if (state.start !== state.end)
      throw ProtocolError.DECODE_ERROR(`${state.end - state.start} bytes trail the ${name} body`)
    return { type: name, ...body } as Message
  })
}

export function encodeHandshake(h: Handshake): Uint8Array {
  return run(() => c.encode(handshake, h))
}

export function decodeHandshake(buf: Uint8Array): Handshake {
  if (buf.byteLength > K.MAX_FRAME_BYTES) throw ProtocolError.FRAME_TOO_LARGE(buf.byteLength, K.MAX_FRAME_BYTES)
  return run(() => {
    const state: State = { start: 0, end: buf.byteLength, buffer: buf }
    const h = handshake.decode(state)
    if (state.start !== state.end)
      throw ProtocolError.DECODE_ERROR(`${state.end - state.start} bytes trail the handshake`)
    return h
  })
}
