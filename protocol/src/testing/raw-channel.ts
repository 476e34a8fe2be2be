// The session protocol's protomux channel with no SessionChannel on top: a raw handshake and one
// raw message, so tests can send and receive any bytes a hostile peer would.

import c from 'compact-encoding'
import Protomux from 'protomux'
import { PROTOCOL_NAME } from '../constants.js'

export interface RawChannelHandlers {
  onframe(frame: Uint8Array): void
  onopen?(handshake: Uint8Array): void
  onclose?(): void
}

export interface RawChannel {
  readonly closed: boolean
  send(frame: Uint8Array): boolean
  close(): void
}

/** Opens the session channel on `stream` (a connection or a protomux stream) with `handshake` as is. */
export function openRawChannel(stream: object, handshake: Uint8Array, handlers: RawChannelHandlers): RawChannel {
  const channel = Protomux.from(stream).createChannel({
    protocol: PROTOCOL_NAME,
    id: null,
    handshake: c.raw,
    onopen: (h: Uint8Array) => handlers.onopen?.(h),
    onclose: () => handlers.onclose?.()
  })
  if (!channel) throw new Error('a session channel is already open on this connection')
  const frames = channel.addMessage({ encoding: c.raw, onmessage: (frame: Uint8Array) => handlers.onframe(frame) })
  channel.open(handshake)
  return {
    get closed() {
      return channel.closed
    },
    send: (frame) => frames.send(frame),
    close: () => channel.close()
  }
}

/**
 * A protomux message for channel `channelId` (the first channel on a connection is 1), to write
 * straight on the connection: as a peer that ignores a close would. Layout: id, message index 0,
 * payload.
 */
export function muxFrame(channelId: number, frame: Uint8Array): Uint8Array {
  const header = { start: 0, end: 0, buffer: new Uint8Array(0) }
  c.uint.preencode(header, channelId)
  c.uint.preencode(header, 0)
  const buffer = new Uint8Array(header.end + frame.byteLength)
  const state = { start: 0, end: buffer.byteLength, buffer }
  c.uint.encode(state, channelId)
  c.uint.encode(state, 0)
  buffer.set(frame, state.start)
  return buffer
}
