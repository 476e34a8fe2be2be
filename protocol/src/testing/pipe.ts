// An in-memory, message-preserving duplex pair: each write on one end is one 'data' event on the
// other, which is the framing protomux expects from a secret-stream.

import { Duplex } from 'node:stream'

export function pipePair(): [Duplex, Duplex] {
  const make = (peer: () => Duplex) =>
    new Duplex({
      objectMode: true,
      read() {},
      write(chunk, _enc, cb) {
        // Deliver on a later tick, as a socket would: never inside the sender's call stack.
        setImmediate(() => peer().push(chunk))
        cb()
      },
      final(cb) {
        setImmediate(() => peer().push(null))
        cb()
      },
      destroy(err, cb) {
        const other = peer()
        if (!other.destroyed) other.destroy()
        cb(err)
      }
    })
  const a: Duplex = make(() => b)
  const b: Duplex = make(() => a)
  return [a, b]
}
