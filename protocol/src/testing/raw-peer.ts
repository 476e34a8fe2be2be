// A peer that speaks raw frames on the session protocol, bypassing SessionChannel's checks, so that
// tests can send what a hostile peer would.

import Protomux from 'protomux'
import { PROTOCOL_VERSION } from '../constants.js'
import { decodeMessage, encodeHandshake, encodeMessage, type Message, type Role } from '../messages.js'
import { openRawChannel } from './raw-channel.js'

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
  const frames = openRawChannel(mux, encodeHandshake({ version, role, software: 'raw-peer/test' }), {
    onopen: (h) => onopen(h),
    onclose: () => onclose(),
    onframe(frame) {
      const msg = decodeMessage(frame)
      received.push(msg)
      for (const w of waiters.splice(0)) {
        if (w.type === msg.type) w.resolve(msg)
        else waiters.push(w)
      }
    }
  })
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
