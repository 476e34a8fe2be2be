// A peer that speaks raw frames on the session protocol, bypassing SessionChannel's checks, so that
// tests can send what a hostile peer would.

import c from 'compact-encoding'
import Protomux from 'protomux'
import { PROTOCOL_NAME, PROTOCOL_VERSION } from '../constants.js'
import { decodeMessage, encodeHandshake, encodeMessage, type Message, type Role } from '../messages.js'

export interface RawPeer {
  mux: Protomux
  received: Message[]
  opened: Promise<Uint8Array>
  closed: Promise<void>
  sendFrame(frame: Uint8Array): void
  send(msg: Message): void
  /** Resolves with the first received message of this type. */
  next(type: Message['type']): Promise<Message>
}

export function rawPeer(stream: object, role: Role, version = PROTOCOL_VERSION): RawPeer {
  const mux = Protomux.from(stream)
  const received: Message[] = []
  const waiters: Array<{ type: string; resolve: (m: Message) => void }> = []
  let onopen!: (h: Uint8Array) => void
  let onclose!: () => void
  const opened = new Promise<Uint8Array>((resolve) => (onopen = resolve))
  const closed = new Promise<void>((resolve) => (onclose = resolve))
  const channel = mux.createChannel({
    protocol: PROTOCOL_NAME,
    handshake: c.raw,
    onopen: (h: Uint8Array) => onopen(h),
    onclose: () => onclose()
  })
  if (!channel) throw new Error('channel already open')
  const frames = channel.addMessage({
    encoding: c.raw,
    onmessage(frame: Uint8Array) {
      const msg = decodeMessage(frame)
      received.push(msg)
      for (const w of waiters.splice(0)) {
        if (w.type === msg.type) w.resolve(msg)
        else waiters.push(w)
      }
    }
  })
  channel.open(encodeHandshake({ version, role, software: 'raw-peer/test' }))
  return {
    mux,
    received,
    opened,
    closed,
    sendFrame: (frame) => void frames.send(frame),
    send: (msg) => void frames.send(encodeMessage(msg)),
    next: (type) => {
      const seen = received.find((m) => m.type === type)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve) => waiters.push({ type, resolve }))
    }
  }
}
