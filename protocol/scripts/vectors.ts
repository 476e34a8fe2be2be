// Regenerates protocol/vectors/*.json from the cases below: `pnpm --filter @2020117/protocol vectors`.
// The committed files are the contract; the tests check them in both directions, so a codec change
// that alters any byte fails until the vectors (and SPEC.md) are updated on purpose.

import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as K from '../src/constants.js'
import { encodeHandshake, encodeMessage, type Handshake, type Message } from '../src/messages.js'
import { tickAmountMsat } from '../src/billing.js'
import { toJSON } from '../test/helpers/vector-json.js'
import { getEventHash } from 'nostr-tools/pure'
import { getPow } from 'nostr-tools/nip13'
import { RELAY_POW_DEFAULTS, committedPowBits, powBitsFor } from '../src/relay.js'

const dir = fileURLToPath(new URL('../vectors/', import.meta.url))
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)
const seqBytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i)
const sid = seqBytes(16)
const manifest = JSON.stringify({ name: 'sd-webui', description: 'Stable Diffusion WebUI', models: ['sd-1.5'] })

const messages: Array<{ name: string; message: Message }> = [
  { name: 'error', message: { type: 'error', code: 'UNEXPECTED_MESSAGE', message: 'tick is not legal in state idle' } },
  { name: 'error empty message', message: { type: 'error', code: 'E', message: '' } },
  {
    name: 'error max code and text',
    message: { type: 'error', code: 'A'.repeat(K.MAX_CODE_BYTES), message: 'x'.repeat(K.MAX_TEXT_BYTES) }
  },
  { name: 'skill_request', message: { type: 'skill_request', kind: 5200 } },
  { name: 'skill_request kind 0', message: { type: 'skill_request', kind: 0 } },
  { name: 'skill_request max kind', message: { type: 'skill_request', kind: K.MAX_KIND } },
  {
    name: 'skill_response',
    message: {
      type: 'skill_response',
      manifest,
      offers: [{ kind: 5200, satsPerMinute: 5 }],
      tickSeconds: 60,
      paymentMethods: ['bolt11'],
      capacity: 3,
      maxSessions: 4,
      identity: null
    }
  },
  {
    name: 'skill_response with identity and unicode',
    message: {
      type: 'skill_response',
      manifest: JSON.stringify({ name: 'Ünïcödé ⚡ GPU' }),
      offers: [
        { kind: 5100, satsPerMinute: 0 },
        { kind: 5200, satsPerMinute: 100_000_000 }
      ],
      tickSeconds: 1,
      paymentMethods: ['bolt11', 'free'],
      capacity: 0,
      maxSessions: 65535,
      identity: JSON.stringify({ kind: 31990, content: '', tags: [] })
    }
  },
  {
    name: 'skill_response empty lists',
    message: {
      type: 'skill_response',
      manifest: '{}',
      offers: [],
      tickSeconds: 3600,
      paymentMethods: [],
      capacity: 0,
      maxSessions: 0,
      identity: null
    }
  },
  {
    name: 'skill_response max offers',
    message: {
      type: 'skill_response',
      manifest: '{}',
      offers: Array.from({ length: K.MAX_OFFERS }, (_, i) => ({ kind: 5000 + i, satsPerMinute: i })),
      tickSeconds: 60,
      paymentMethods: Array.from({ length: K.MAX_PAYMENT_METHODS }, (_, i) => `m${i}`),
      capacity: 1,
      maxSessions: 1,
      identity: null
    }
  },
  {
    name: 'session_start',
    message: {
      type: 'session_start',
      kind: 5200,
      budgetSats: 500,
      maxSatsPerMinute: 10,
      paymentMethod: 'bolt11',
      customerPubkey: null
    }
  },
  {
    name: 'session_start with pubkey and max budget',
    message: {
      type: 'session_start',
      kind: 5200,
      budgetSats: K.MAX_BUDGET_SATS,
      maxSatsPerMinute: K.MAX_SATS_PER_MINUTE,
      paymentMethod: 'free',
      customerPubkey: bytes(32, 0xab)
    }
  },
  {
    name: 'session_ack',
    message: {
      type: 'session_ack',
      sessionId: sid,
      satsPerMinute: 5,
      tickSeconds: 60,
      graceSeconds: 30,
      resumeSecret: bytes(32, 0x11)
    }
  },
  {
    name: 'session_reject',
    message: { type: 'session_reject', code: 'PRICE_TOO_HIGH', message: 'price is 5 sats/min, you accept at most 3' }
  },
  {
    name: 'tick',
    message: {
      type: 'tick',
      sessionId: sid,
      seq: 0,
      amountMsat: 167,
      bolt11: 'lnbcrt1670p1pjqqqqqpp5qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq',
      periodStart: 0,
      periodEnd: 2
    }
  },
  {
    name: 'tick large numbers',
    message: {
      type: 'tick',
      sessionId: sid,
      seq: K.MAX_SEQ,
      amountMsat: K.MAX_MSAT,
      bolt11: 'lnbc1',
      periodStart: 65536,
      periodEnd: K.MAX_SECONDS
    }
  },
  { name: 'tick_ack', message: { type: 'tick_ack', sessionId: sid, seq: 1, preimage: seqBytes(32) } },
  { name: 'tick_receipt', message: { type: 'tick_receipt', sessionId: sid, seq: 1, paidUntil: 120 } },
  {
    name: 'session_end',
    message: {
      type: 'session_end',
      sessionId: sid,
      by: 'customer',
      reason: 'BUDGET_EXHAUSTED',
      message: '',
      ticksPaid: 3,
      msatPaid: 501,
      durationMs: 6012
    }
  },
  {
    name: 'session_end by provider',
    message: {
      type: 'session_end',
      sessionId: sid,
      by: 'provider',
      reason: 'UNPAID',
      message: 'tick 2 unpaid after grace',
      ticksPaid: 0,
      msatPaid: 0,
      durationMs: 0
    }
  },
  { name: 'session_resume', message: { type: 'session_resume', sessionId: sid, resumeSecret: bytes(32, 0x11) } },
  {
    name: 'session_resumed',
    message: {
      type: 'session_resumed',
      sessionId: sid,
      satsPerMinute: 5,
      tickSeconds: 2,
      graceSeconds: 5,
      nextSeq: 4,
      paidUntil: 8,
      elapsedMs: 7321
    }
  },
  { name: 'stream_open', message: { type: 'stream_open', streamId: 1 } },
  { name: 'stream_open max id', message: { type: 'stream_open', streamId: K.MAX_STREAM_ID } },
  {
    name: 'stream_data',
    message: {
      type: 'stream_data',
      streamId: 1,
      data: new TextEncoder().encode('GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n')
    }
  },
  { name: 'stream_data empty', message: { type: 'stream_data', streamId: 7, data: new Uint8Array(0) } },
  {
    name: 'stream_data max chunk',
    message: {
      type: 'stream_data',
      streamId: 2,
      data: Uint8Array.from({ length: K.MAX_STREAM_CHUNK }, (_, i) => i & 0xff)
    }
  },
  { name: 'stream_credit', message: { type: 'stream_credit', streamId: 1, bytes: 131072 } },
  { name: 'stream_credit max', message: { type: 'stream_credit', streamId: 1, bytes: K.MAX_STREAM_WINDOW } },
  { name: 'stream_end', message: { type: 'stream_end', streamId: 1 } },
  {
    name: 'stream_reset',
    message: { type: 'stream_reset', streamId: 3, code: 'PAYMENT_REQUIRED', message: 'the session is not paid' }
  }
]

// Frames every decoder must refuse, with the error code it must refuse them with.
const invalid: Array<{ name: string; hex: string; code: string }> = [
  { name: 'empty frame', hex: '', code: 'DECODE_ERROR' },
  { name: 'unknown type 12', hex: '0c', code: 'UNKNOWN_MESSAGE' },
  { name: 'unknown type 300', hex: 'fd2c01', code: 'UNKNOWN_MESSAGE' },
  { name: 'non-minimal type varint', hex: 'fd0100' + 'fd5014', code: 'DECODE_ERROR' },
  { name: 'truncated skill_request', hex: '01fd50', code: 'DECODE_ERROR' },
  { name: 'trailing byte', hex: '01fd501400', code: 'DECODE_ERROR' },
  { name: 'kind above bound', hex: '01fe00000100', code: 'LIMIT_EXCEEDED' },
  { name: 'string length beyond frame', hex: '000145' + '0a41', code: 'DECODE_ERROR' },
  { name: 'string length above bound', hex: '000145' + 'fe00000001', code: 'LIMIT_EXCEEDED' },
  { name: 'code length above bound', hex: '0041' + '41'.repeat(65) + '00', code: 'LIMIT_EXCEEDED' },
  { name: 'code with lower case', hex: '000161' + '00', code: 'INVALID_VALUE' },
  { name: 'invalid utf8 in message', hex: '00014502c328', code: 'DECODE_ERROR' },
  { name: 'offers count claims 2^32', hex: '02' + '00' + '027b7d' + 'ff0000000001000000', code: 'LIMIT_EXCEEDED' },
  { name: 'manifest not JSON', hex: '02' + '00' + '017b' + '00' + '3c' + '00' + '00' + '00', code: 'INVALID_VALUE' },
  {
    name: 'manifest a JSON array',
    hex: '02' + '00' + '025b5d' + '00' + '3c' + '00' + '00' + '00',
    code: 'INVALID_VALUE'
  },
  { name: 'unknown flag bit', hex: '02' + '02' + '027b7d' + '00' + '3c' + '00' + '00' + '00', code: 'LIMIT_EXCEEDED' },
  { name: 'tickSeconds zero', hex: '02' + '00' + '027b7d' + '00' + '00' + '00' + '00' + '00', code: 'INVALID_VALUE' },
  {
    name: 'session_ack graceSeconds zero',
    hex: '04' + '00'.repeat(16) + '05' + '3c' + '00' + '11'.repeat(32),
    code: 'INVALID_VALUE'
  },
  {
    name: 'session_ack short resumeSecret',
    hex: '04' + '00'.repeat(16) + '05' + '3c' + '1e' + '11'.repeat(31),
    code: 'DECODE_ERROR'
  },
  {
    name: 'amountMsat above 2^53-1',
    hex: '06' + '00'.repeat(16) + '00' + 'ff' + '0000000000002000' + '056c6e626331' + '00' + '02',
    code: 'LIMIT_EXCEEDED'
  },
  {
    name: 'bolt11 upper case',
    hex: '06' + '00'.repeat(16) + '00' + '01' + '054c4e424331' + '00' + '02',
    code: 'INVALID_VALUE'
  },
  {
    name: 'session_end role 3',
    hex: '09' + '00'.repeat(16) + '03' + '014f' + '00' + '00' + '00' + '00',
    code: 'LIMIT_EXCEEDED'
  },
  {
    name: 'session_end role 0',
    hex: '09' + '00'.repeat(16) + '00' + '014f' + '00' + '00' + '00' + '00',
    code: 'INVALID_VALUE'
  },
  { name: 'stream_credit of zero bytes', hex: '12' + '01' + '00', code: 'INVALID_VALUE' },
  { name: 'stream_credit above the window', hex: '12' + '01' + 'fe01004000', code: 'LIMIT_EXCEEDED' },
  { name: 'stream_data over the chunk limit', hex: '11' + '01' + 'fe01000100' + '00', code: 'LIMIT_EXCEEDED' },
  { name: 'stream_data shorter than its length', hex: '11' + '01' + '05' + '68656c6c', code: 'DECODE_ERROR' },
  { name: 'reserved type 15', hex: '0f00', code: 'UNKNOWN_MESSAGE' },
  { name: 'session_resume with a short secret', hex: '0a' + '00'.repeat(16) + '11'.repeat(31), code: 'DECODE_ERROR' },
  { name: 'reserved type 21', hex: '1500', code: 'UNKNOWN_MESSAGE' },
  { name: 'frame one byte over the limit', hex: 'OVERSIZE', code: 'FRAME_TOO_LARGE' }
]

const handshakes: Array<{ name: string; handshake: Handshake }> = [
  { name: 'customer', handshake: { version: K.PROTOCOL_VERSION, role: 'customer', software: '2020117-session/0.1.0' } },
  { name: 'provider', handshake: { version: K.PROTOCOL_VERSION, role: 'provider', software: '2020117-agent/0.1.0' } },
  { name: 'future version, empty software', handshake: { version: 2, role: 'provider', software: '' } }
]

const amounts = [
  [5, 60],
  [5, 2],
  [1, 1],
  [7, 13],
  [0, 60],
  [100, 30],
  [K.MAX_SATS_PER_MINUTE, K.MAX_TICK_SECONDS]
].map(([satsPerMinute, tickSeconds]) => ({
  satsPerMinute,
  tickSeconds,
  amountMsat: tickAmountMsat(satsPerMinute as number, tickSeconds as number)
}))

// §12.2: events with a real id (no signature: the rule reads the id and the tags), each mined by
// counting up from 0 until the id has `zeros` leading zero bits, with the nonce tag `tag` makes.
const powPubkey = '79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'
function mined(zeros: number, tag: (counter: string) => string[] | null, content = 'vector') {
  for (let n = 0; ; n++) {
    const nonce = tag(String(n))
    const template = {
      kind: 5100,
      pubkey: powPubkey,
      created_at: 1764547200,
      content: nonce ? content : `${content} ${n}`,
      tags: nonce ? [nonce] : []
    }
    const id = getEventHash(template)
    if (getPow(id) >= zeros) return { id, tags: template.tags }
  }
}
const powEvents = [
  { name: 'mined to 10 bits, commits to 10', event: mined(10, (n) => ['nonce', n, '10']) },
  { name: 'mined to 10 bits, commits to only 8', event: mined(10, (n) => ['nonce', n, '8']) },
  { name: 'commits to 20, mined to 10: the id is what it is', event: mined(10, (n) => ['nonce', n, '20']) },
  { name: 'zero by luck, no nonce tag', event: mined(10, () => null) },
  { name: 'nonce tag without a target', event: mined(10, (n) => ['nonce', n]) },
  { name: 'target that is not a decimal number', event: mined(10, (n) => ['nonce', n, 'ten']) }
].map((v) => ({ ...v, committed_bits: committedPowBits(v.event) }))
const powPrices = [0, 1, 3, 5, 1984, 5000, 5100, 5999, 6000, 7000, 9735, 30078, 30333, 31990].map((kind) => ({
  kind,
  bits: powBitsFor(RELAY_POW_DEFAULTS, kind)
}))

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const write = (name: string, data: unknown) => writeFileSync(dir + name, JSON.stringify(data, null, 2) + '\n')

write(
  'messages.json',
  messages.map(({ name, message }) => ({ name, message: toJSON(message), hex: hex(encodeMessage(message)) }))
)
write('invalid.json', invalid)
write(
  'handshake.json',
  handshakes.map(({ name, handshake }) => ({ name, handshake, hex: hex(encodeHandshake(handshake)) }))
)
write('tick-amounts.json', amounts)
write('relay-pow.json', { events: powEvents, default_prices: powPrices })
console.log(
  `wrote ${messages.length} message, ${invalid.length} invalid, ${handshakes.length} handshake and ${amounts.length} amount vectors`
)
