import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import * as K from '../src/constants.js'
import { ProtocolError } from '../src/errors.js'
import {
  decodeHandshake,
  decodeMessage,
  encodeHandshake,
  encodeMessage,
  MESSAGE_IDS,
  type Message
} from '../src/messages.js'
import { fromJSON, toJSON } from './helpers/vector-json.js'

const load = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'))
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError)
    return (err as ProtocolError).code
  }
  throw new Error('expected a ProtocolError')
}

describe('message vectors', () => {
  const vectors: Array<{ name: string; message: Record<string, unknown>; hex: string }> = load('messages.json')

  test('cover every message type', () => {
    const covered = new Set(vectors.map((v) => v.message.type))
    expect([...covered].sort()).toEqual(Object.keys(MESSAGE_IDS).sort())
  })

  test.each(vectors.map((v) => [v.name, v] as const))('%s encodes to its hex', (_name, v) => {
    expect(hex(encodeMessage(fromJSON(v.message)))).toBe(v.hex)
  })

  test.each(vectors.map((v) => [v.name, v] as const))('%s decodes from its hex', (_name, v) => {
    expect(toJSON(decodeMessage(unhex(v.hex)))).toEqual(v.message)
  })

  // Written out by hand from SPEC.md, so the vectors cannot drift together with the codec.
  test('hand-encoded frames match the spec', () => {
    expect(hex(encodeMessage({ type: 'skill_request', kind: 5200 }))).toBe('01fd5014')
    expect(hex(encodeMessage({ type: 'error', code: 'E', message: 'hi' }))).toBe('0001450268' + '69')
    expect(hex(encodeMessage({ type: 'tick_receipt', sessionId: new Uint8Array(16), seq: 253, paidUntil: 60 }))).toBe(
      '08' + '00'.repeat(16) + 'fdfd00' + '3c'
    )
  })
})

describe('invalid frames', () => {
  const vectors: Array<{ name: string; hex: string; code: string }> = load('invalid.json')

  test.each(vectors.map((v) => [v.name, v] as const))('%s is refused', (_name, v) => {
    const frame = v.hex === 'OVERSIZE' ? new Uint8Array(K.MAX_FRAME_BYTES + 1) : unhex(v.hex)
    expect(codeOf(() => decodeMessage(frame))).toBe(v.code)
  })
})

describe('handshake vectors', () => {
  const vectors: Array<{
    name: string
    handshake: { version: number; role: 'customer' | 'provider'; software: string }
    hex: string
  }> = load('handshake.json')

  test.each(vectors.map((v) => [v.name, v] as const))('%s round-trips', (_name, v) => {
    expect(hex(encodeHandshake(v.handshake))).toBe(v.hex)
    expect(decodeHandshake(unhex(v.hex))).toEqual(v.handshake)
  })

  test('a truncated or padded handshake is refused', () => {
    const good = unhex(vectors[0]!.hex)
    expect(codeOf(() => decodeHandshake(good.subarray(0, good.length - 1)))).toBe('DECODE_ERROR')
    expect(codeOf(() => decodeHandshake(new Uint8Array([...good, 0])))).toBe('DECODE_ERROR')
  })
})

describe('encoder bounds', () => {
  const sid = new Uint8Array(16)
  const cases: Array<[string, Message, string]> = [
    ['kind above 65535', { type: 'skill_request', kind: 65536 }, 'LIMIT_EXCEEDED'],
    ['negative kind', { type: 'skill_request', kind: -1 }, 'INVALID_VALUE'],
    ['fractional kind', { type: 'skill_request', kind: 1.5 }, 'INVALID_VALUE'],
    [
      'oversized message text',
      { type: 'error', code: 'E', message: 'x'.repeat(K.MAX_TEXT_BYTES + 1) },
      'LIMIT_EXCEEDED'
    ],
    ['multi-byte text over its byte bound', { type: 'error', code: 'E', message: 'é'.repeat(513) }, 'LIMIT_EXCEEDED'],
    ['lower-case code', { type: 'session_reject', code: 'nope', message: '' }, 'INVALID_VALUE'],
    [
      'short session id',
      { type: 'tick_receipt', sessionId: new Uint8Array(15), seq: 0, paidUntil: 0 },
      'INVALID_VALUE'
    ],
    [
      'tick amount above 2^53-1',
      { type: 'tick', sessionId: sid, seq: 0, amountMsat: 2 ** 53, bolt11: 'lnbc1', periodStart: 0, periodEnd: 1 },
      'INVALID_VALUE'
    ],
    [
      'too many offers',
      {
        type: 'skill_response',
        manifest: '{}',
        offers: Array.from({ length: K.MAX_OFFERS + 1 }, () => ({ kind: 1, satsPerMinute: 1 })),
        tickSeconds: 60,
        paymentMethods: [],
        capacity: 0,
        maxSessions: 0,
        identity: null
      },
      'LIMIT_EXCEEDED'
    ],
    [
      'manifest that is not a JSON object',
      {
        type: 'skill_response',
        manifest: 'null',
        offers: [],
        tickSeconds: 60,
        paymentMethods: [],
        capacity: 0,
        maxSessions: 0,
        identity: null
      },
      'INVALID_VALUE'
    ],
    [
      'tick period of zero seconds',
      {
        type: 'session_ack',
        sessionId: sid,
        satsPerMinute: 1,
        tickSeconds: 0,
        graceSeconds: 1,
        resumeSecret: new Uint8Array(32)
      },
      'INVALID_VALUE'
    ]
  ]

  test.each(cases)('refuses %s', (_name, msg, code) => {
    expect(codeOf(() => encodeMessage(msg))).toBe(code)
  })

  test('refuses an unknown type', () => {
    expect(codeOf(() => encodeMessage({ type: 'nope' } as unknown as Message))).toBe('INVALID_VALUE')
  })
})
