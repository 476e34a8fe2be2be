// Paying raw customers, raw HTTP exchanges over tunnel streams, and an upstream that records the
// request line it received, for the gateway and admission tests of the real 2020117-agent bin.
//
// The requests are written as raw bytes into tunnel streams (stream_open + stream_data), so no HTTP
// client between the test and the agent normalises a target before the agent sees it. The upstream
// is a plain TCP server, so no HTTP parser between the agent and the test rewrites what came out.
// Built on RawCustomer (hostile-customer.ts); a customer may dial under a key of its own choosing, so
// that a test can come back as the same peer.

import net from 'node:net'
import HyperDHT, { type KeyPair } from 'hyperdht'
import { PROTOCOL_VERSION, encodeHandshake, type MessageOf } from '@2020117/protocol'
import type { Connection } from '@2020117/swarm'
import { RawCustomer, type Dialer } from './hostile-customer.js'

/** Pays one bolt11 invoice and returns its preimage (the devnet wallet, as an honest customer's). */
export type Pay = (bolt11: string) => Promise<Buffer>

/** Dials `swarmKey` as `keyPair` and opens a session channel; resolves once the agent's handshake is in (or it closed). */
export async function openAs(dialer: Dialer, swarmKey: string, keyPair: KeyPair): Promise<RawCustomer> {
  const conn = await new Promise<Connection>((resolve, reject) => {
    const c = dialer.dht.connect(Buffer.from(swarmKey, 'hex'), { keyPair }) as Connection
    c.on('error', () => {})
    c.once('open', () => resolve(c))
    c.once('close', () => reject(new Error(`could not connect to the agent ${swarmKey.slice(0, 8)}`)))
  })
  const customer = RawCustomer.reopen(
    conn,
    encodeHandshake({ version: PROTOCOL_VERSION, role: 'customer', software: 'paying-customer/test' })
  )
  await customer.until(() => customer.isOpen)
  return customer
}

/** A fresh Hyperswarm key pair, for a customer that comes back under the same key. */
export const newKeyPair = (): KeyPair => HyperDHT.keyPair()

/** Pays every tick the agent sends on `customer`, oldest first, and acknowledges each. */
export function payEveryTick(customer: RawCustomer, ack: MessageOf<'session_ack'>, pay: Pay): void {
  let chain = Promise.resolve()
  let next = 0
  void (async () => {
    while (await customer.until(() => customer.all('tick').some((t) => t.seq >= next))) {
      for (const tick of customer.all('tick').filter((t) => t.seq >= next)) {
        next = tick.seq + 1
        chain = chain
          .then(async () => {
            const preimage = await pay(tick.bolt11)
            if (!customer.isClosed)
              customer.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: tick.seq, preimage })
          })
          // A payment cut short by the test's end (the wallet closing) is no failure of the agent.
          .catch(() => {})
      }
    }
  })()
}

/** Starts a session on `customer`, pays every tick, and resolves once tick 0 is receipted. */
export async function paySession(customer: RawCustomer, pay: Pay): Promise<MessageOf<'session_ack'>> {
  const answer = await customer.start()
  if (answer.type !== 'session_ack') throw new Error(`session refused: ${answer.code} ${answer.message}`)
  payEveryTick(customer, answer, pay)
  await customer.next('tick_receipt', (r) => r.seq === 0)
  return answer
}

export interface Exchange {
  /** The status code of the response, or 0 if none came. */
  status: number
  /** Everything the agent sent back on the stream, latin1. */
  text: string
  /** How the agent closed the stream. */
  closedBy: 'stream_end' | 'stream_reset' | 'channel'
}

/** Opens stream `streamId`, writes `raw` into it, and collects the reply until the agent ends or resets the stream. */
export async function exchange(customer: RawCustomer, streamId: number, raw: Buffer): Promise<Exchange> {
  customer.send({ type: 'stream_open', streamId })
  customer.send({ type: 'stream_data', streamId, data: raw })
  const closed = () =>
    customer.received.find((m) => (m.type === 'stream_end' || m.type === 'stream_reset') && m.streamId === streamId)
  await customer.until(() => closed() !== undefined)
  const end = closed()
  if (end?.type === 'stream_end') customer.send({ type: 'stream_end', streamId })
  const text = customer
    .all('stream_data')
    .filter((d) => d.streamId === streamId)
    .map((d) => Buffer.from(d.data).toString('latin1'))
    .join('')
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0)
  return { status, text, closedBy: end?.type ?? 'channel' }
}

export interface Received {
  /** The request target exactly as it arrived, latin1. */
  target: string
  upgrade: boolean
}

/**
 * A TCP server that reads one request head per connection, records its request target byte for
 * byte, and answers `upstream saw <target>`: as a 200 response, or after a 101 for an upgrade.
 */
export class RecordingUpstream {
  readonly received: Received[] = []
  private readonly server: net.Server

  constructor() {
    this.server = net.createServer((socket) => this.onconnection(socket))
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return (this.server.address() as net.AddressInfo).port
  }

  close(): void {
    this.server.close()
  }

  private onconnection(socket: net.Socket): void {
    socket.on('error', () => {})
    let head = Buffer.alloc(0)
    const ondata = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      socket.off('data', ondata)
      const lines = head.subarray(0, end).toString('latin1').split('\r\n')
      const target = (lines[0] ?? '').split(' ')[1] ?? ''
      const upgrade = lines.some((l) => /^upgrade:/i.test(l))
      this.received.push({ target, upgrade })
      const body = `upstream saw ${target}`
      if (upgrade)
        socket.end(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n${body}`)
      else
        socket.end(
          `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body, 'latin1')}\r\nconnection: close\r\n\r\n${body}`
        )
    }
    socket.on('data', ondata)
  }
}
