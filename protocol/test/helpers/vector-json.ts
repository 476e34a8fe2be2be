// Vectors are JSON: byte fields are written as lower-case hex strings.

import type { Message } from '../../src/messages.js'

const BYTE_FIELDS = new Set(['sessionId', 'resumeSecret', 'preimage', 'customerPubkey', 'data'])

export function toJSON(msg: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(msg)) out[k] = v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v
  return out
}

export function fromJSON(obj: Record<string, unknown>): Message {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj))
    out[k] = BYTE_FIELDS.has(k) && typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'hex')) : v
  return out as unknown as Message
}
