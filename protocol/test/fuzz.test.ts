// Random and mutated frames against the decoder. The properties:
// - decodeMessage throws nothing but ProtocolError;
// - whatever it accepts re-encodes to the very same bytes, and the encoder checks every bound,
//   so an accepted frame can never carry a field past its bound.
// FUZZ_FRAMES and FUZZ_SEED override the count and seed; a failure prints the seed and the frame.

import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { MAX_FRAME_BYTES } from '../src/constants.js'
import { ProtocolError } from '../src/errors.js'
import { decodeHandshake, decodeMessage, encodeHandshake, encodeMessage } from '../src/messages.js'

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000)
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31)

// xorshift32: reproducible from the seed alone.
function rng(seed: number) {
  let x = seed >>> 0 || 1
  const next = () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
  return { next, below: (n: number) => next() % n }
}

const seeds: Uint8Array[] = (
  JSON.parse(readFileSync(new URL('../vectors/messages.json', import.meta.url), 'utf8')) as Array<{ hex: string }>
)
  .map((v) => new Uint8Array(Buffer.from(v.hex, 'hex')))
  // Mutating the 64 KiB stream_data vector adds time, not coverage.
  .filter((b) => b.byteLength <= 4096)
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff]

function mutate(r: ReturnType<typeof rng>, input: Uint8Array): Uint8Array {
  const bytes = Array.from(input)
  const edits = 1 + r.below(4)
  for (let i = 0; i < edits; i++) {
    const at = bytes.length === 0 ? 0 : r.below(bytes.length)
    switch (r.below(6)) {
      case 0: // flip a bit
        if (bytes.length) bytes[at] = (bytes[at] as number) ^ (1 << r.below(8))
        break
      case 1: // an interesting byte, often a varint prefix
        bytes[at] = INTERESTING[r.below(INTERESTING.length)] as number
        break
      case 2: // insert bytes
        bytes.splice(at, 0, ...Array.from({ length: 1 + r.below(9) }, () => r.below(256)))
        break
      case 3: // delete a run
        bytes.splice(at, 1 + r.below(8))
        break
      case 4: // truncate
        bytes.length = r.below(bytes.length + 1)
        break
      case 5: // splice the tail of another valid frame
        {
          const other = seeds[r.below(seeds.length)] as Uint8Array
          bytes.splice(at, bytes.length, ...other.subarray(r.below(other.length + 1)))
        }
        break
    }
  }
  return Uint8Array.from(bytes)
}

function randomFrame(r: ReturnType<typeof rng>): Uint8Array {
  const len = r.below(64)
  const b = new Uint8Array(len)
  for (let i = 0; i < len; i++) b[i] = r.below(256)
  if (len > 0 && r.below(2)) b[0] = r.below(12) // mostly known types, to reach the bodies
  return b
}

test(`decoder survives ${FRAMES} random and mutated frames (seed ${SEED})`, () => {
  const r = rng(SEED)
  let accepted = 0
  const codes = new Map<string, number>()
  for (let i = 0; i < FRAMES; i++) {
    const frame = i % 4 === 0 ? randomFrame(r) : mutate(r, seeds[r.below(seeds.length)] as Uint8Array)
    try {
      const msg = decodeMessage(frame)
      accepted++
      const again = encodeMessage(msg)
      if (Buffer.compare(Buffer.from(again), Buffer.from(frame)) !== 0) {
        throw new Error(`seed ${SEED}: accepted frame ${Buffer.from(frame).toString('hex')} re-encodes differently`)
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        throw new Error(`seed ${SEED}: frame ${Buffer.from(frame).toString('hex')} threw ${String(err)}`)
      }
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1)
    }
  }
  // The mutator must actually reach both outcomes, or the test proves nothing.
  expect(accepted).toBeGreaterThan(FRAMES / 100)
  expect(codes.get('DECODE_ERROR')).toBeGreaterThan(0)
  expect(codes.get('LIMIT_EXCEEDED')).toBeGreaterThan(0)
  expect(codes.get('UNKNOWN_MESSAGE')).toBeGreaterThan(0)
})

test('handshake decoder survives mutated handshakes', () => {
  const r = rng(SEED ^ 0x5eed)
  const base = encodeHandshake({ version: 1, role: 'customer', software: '2020117-session/0.1.0' })
  for (let i = 0; i < 10_000; i++) {
    const frame = mutate(r, base)
    try {
      const h = decodeHandshake(frame)
      expect(Buffer.from(encodeHandshake(h))).toEqual(Buffer.from(frame))
    } catch (err) {
      if (!(err instanceof ProtocolError))
        throw new Error(`seed ${SEED}: ${Buffer.from(frame).toString('hex')} threw ${String(err)}`)
    }
  }
})

test('length prefixes that promise more than the frame holds are refused without allocating', () => {
  // A 2^32-element array or string claim in a tiny frame: refused on the bound, not on memory.
  const claims = [
    '02' + '00' + '027b7d' + 'fe00000001',
    '00' + '0145' + 'ff' + 'ffffffffffff1f00',
    '02' + '00' + 'fdff3f'
  ]
  for (const h of claims) {
    expect(() => decodeMessage(new Uint8Array(Buffer.from(h, 'hex')))).toThrow(ProtocolError)
  }
  expect(() => decodeMessage(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(/exceeds the/)
})
