import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { pipeline } from 'node:stream/promises'
import { Readable, Writable } from 'node:stream'
import { describe, expect, test } from 'vitest'
import {
  MAX_STREAM_CHUNK,
  SessionChannel,
  STREAM_AUTO_WINDOW,
  STREAM_INITIAL_WINDOW,
  TUNNEL_WINDOW_BUDGET,
  encodeMessage,
  type Message,
  type SessionAck
} from '@2020117/protocol'
import { pipePair, rawPeer } from '@2020117/protocol/testing'
import { Tunnel, type TunnelStream } from '../src/index.js'

const ack: SessionAck = {
  type: 'session_ack',
  sessionId: new Uint8Array(16).fill(1),
  satsPerMinute: 1,
  tickSeconds: 60,
  graceSeconds: 10,
  resumeSecret: new Uint8Array(32)
}
const start: Message = {
  type: 'session_start',
  kind: 5200,
  budgetSats: 100,
  maxSatsPerMinute: 1,
  paymentMethod: 'bolt11',
  customerPubkey: null
}

async function activePair() {
  const [a, b] = pipePair()
  const customer = new SessionChannel(a, { role: 'customer', software: 'c' })
  const provider = new SessionChannel(b, { role: 'provider', software: 'p' })
  await Promise.all([customer.opened(), provider.opened()])
  const started = once(provider, 'session_start')
  customer.send(start)
  await started
  const acked = once(customer, 'session_ack')
  provider.send(ack)
  await acked
  return { customer, provider }
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

// Not for-await: finishing that loop destroys the duplex, which would cut our own writing side.
function readAll(s: TunnelStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  return new Promise((resolve, reject) => {
    s.on('data', (c: Buffer) => chunks.push(c))
    s.once('end', () => resolve(Buffer.concat(chunks)))
    s.once('error', reject)
  })
}

describe('streams', () => {
  test('bytes cross both ways intact, with half-close', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider)
    const up = randomBytes(3 * 1024 * 1024 + 17)
    const down = randomBytes(2 * 1024 * 1024 + 5)
    const served = new Promise<Buffer>((resolve) =>
      pt.once('stream', async (s: TunnelStream) => {
        const got = await readAll(s)
        s.end(down)
        resolve(got)
      })
    )
    const s = ct.openStream()
    s.end(up)
    const [atProvider, atCustomer] = await Promise.all([served, readAll(s)])
    expect(sha(atProvider)).toBe(sha(up))
    expect(sha(atCustomer)).toBe(sha(down))
    expect(ct.stats.bytesSent).toBe(up.length)
    expect(ct.stats.bytesReceived).toBe(down.length)
  })

  test('many concurrent streams each carry their own bytes', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider)
    pt.on('stream', (s: TunnelStream) => void pipeline(s, s)) // echo
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const payload = randomBytes(1000 + i * 997)
        const s = ct.openStream()
        s.end(payload)
        return sha(await readAll(s)) === sha(payload)
      })
    )
    expect(results.every(Boolean)).toBe(true)
    expect(ct.openStreams).toBe(0)
    expect(pt.openStreams).toBe(0)
  })

  test('a slow reader holds the writer to one window, and other streams and messages still flow', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider)
    const streams: TunnelStream[] = []
    pt.on('stream', (s: TunnelStream) => streams.push(s))

    // The provider writes 8 MiB to a customer that reads nothing.
    const slow = ct.openStream()
    await new Promise((r) => pt.once('stream', r))
    const big = streams[0] as TunnelStream
    let written = 0
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 128; i++) {
          written += 65536
          yield Buffer.alloc(65536, i)
        }
      })()
    )
    void pipeline(source, big).catch(() => {})

    // While it is stuck, a second stream echoes, and a session message gets through.
    const fast = ct.openStream()
    await new Promise((r) => pt.once('stream', r))
    void pipeline(streams[1] as TunnelStream, streams[1] as TunnelStream)
    fast.end(Buffer.from('ping'))
    expect((await readAll(fast)).toString()).toBe('ping')
    const skill = once(provider, 'skill_request')
    customer.send({ type: 'skill_request', kind: 5200 })
    await skill

    // The stuck writer has sent at most one window; the reader buffers at most that.
    expect(ct.stats.bytesReceived - 4).toBeLessThanOrEqual(STREAM_INITIAL_WINDOW)
    expect(slow.readableLength).toBeLessThanOrEqual(STREAM_INITIAL_WINDOW)
    expect(written).toBeLessThan(128 * 65536)

    // Once the reader reads, everything arrives.
    const all = await readAll(slow)
    expect(all.length).toBe(128 * 65536)
  })

  test('a reset on one side destroys the stream on the other', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider)
    const serverSide = new Promise<TunnelStream>((r) => pt.once('stream', r))
    const s = ct.openStream()
    s.on('error', () => {})
    const remote = await serverSide
    const err = once(remote, 'error')
    s.destroy()
    expect((await err)[0]).toMatchObject({ code: 'CANCELLED' })
    expect(pt.openStreams).toBe(0)
  })

  test('a local error is reset as CANCELLED: only SPEC §8.4 codes go on the wire', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider)
    const serverSide = new Promise<TunnelStream>((r) => pt.once('stream', r))
    const s = ct.openStream()
    s.on('error', () => {})
    const remote = await serverSide
    const err = once(remote, 'error')
    s.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    expect((await err)[0]).toMatchObject({ code: 'CANCELLED' })
  })

  test('the provider can refuse a stream, e.g. before payment', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider, { admit: () => 'PAYMENT_REQUIRED' })
    let served = 0
    pt.on('stream', () => served++)
    const s = ct.openStream()
    s.write('GET / HTTP/1.1\r\n\r\n')
    const [err] = await once(s, 'error')
    expect(err).toMatchObject({ code: 'PAYMENT_REQUIRED' })
    expect(served).toBe(0)
  })

  test('streams beyond the limit are reset with TOO_MANY_STREAMS', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider, { maxOpenStreams: 3 })
    pt.on('stream', () => {})
    const streams = Array.from({ length: 5 }, () => ct.openStream())
    for (const s of streams) s.on('error', () => {})
    const errors = await Promise.all(streams.slice(3).map((s) => once(s, 'error').then(([e]) => e)))
    expect(errors.map((e) => e.code)).toEqual(['TOO_MANY_STREAMS', 'TOO_MANY_STREAMS'])
    expect(pt.openStreams).toBe(3)
  })

  test('the end of the session closes every stream', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    new Tunnel(provider).on('stream', (s: TunnelStream) => s.on('error', () => {}))
    const s = ct.openStream()
    s.on('error', () => {})
    const closed = new Promise((resolve) => s.on('close', resolve))
    customer.send({
      type: 'session_end',
      sessionId: ack.sessionId,
      by: 'customer',
      reason: 'CUSTOMER_QUIT',
      message: '',
      ticksPaid: 0,
      msatPaid: 0,
      durationMs: 0
    })
    await closed
    expect(ct.openStreams).toBe(0)
  })

  test('an empty write completes at once, even with the window spent, sends no frame, and the end still goes', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const arrived = new Promise<TunnelStream>((resolve) => new Tunnel(provider).once('stream', resolve))
    const s = ct.openStream()
    const sent = sentData(customer)
    // The provider's side never reads, so no credit comes back once this window is spent.
    await new Promise<void>((resolve) => s.write(Buffer.alloc(STREAM_INITIAL_WINDOW), () => resolve()))
    await arrived
    await new Promise<void>((resolve) => s.write(Buffer.alloc(0), () => resolve()))
    const ended = once(provider, 'stream_end')
    s.end()
    await ended
    expect(sent.map((d) => d.byteLength).filter((n) => n === 0)).toEqual([])
  })
})

/** The stream_data payloads `channel` sends, as they are sent. */
function sentData(channel: SessionChannel): Buffer[] {
  const frames: Buffer[] = []
  const send = channel.send.bind(channel)
  channel.send = (msg) => {
    if (msg.type === 'stream_data') frames.push(Buffer.from(msg.data))
    return send(msg)
  }
  return frames
}

describe('frames (latency)', () => {
  // node:http corks a response's head and its first body bytes together. Sent as two frames they
  // are written to the customer's local socket as two writes, and a client with delayed ACKs waits
  // for its timer on every keep-alive request when Nagle is on anywhere on the way.
  test('writes corked together cross in one frame; a large one fills the frame with the head', async () => {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider)
    const frames = sentData(provider)
    const served = new Promise<TunnelStream>((resolve) => pt.once('stream', resolve))
    const s = ct.openStream()
    const remote = await served
    const head = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 3000\r\n\r\n')
    const small = randomBytes(3000)
    const large = randomBytes(100_000)
    const received = readAll(s)
    remote.cork()
    remote.write(head)
    remote.write(small)
    process.nextTick(() => remote.uncork())
    await once(s, 'data')
    expect(frames).toHaveLength(1)
    expect(sha(frames[0] as Buffer)).toBe(sha(Buffer.concat([head, small])))

    remote.cork()
    remote.write(head)
    remote.write(large)
    process.nextTick(() => remote.uncork())
    remote.end()
    const all = await received
    expect(sha(all)).toBe(sha(Buffer.concat([head, small, head, large])))
    expect(frames.slice(1).map((f) => f.length)).toEqual([
      MAX_STREAM_CHUNK,
      head.length + large.length - MAX_STREAM_CHUNK
    ])
  })
})

describe('the receive window (throughput)', () => {
  /**
   * Streams from the provider to customers that read everything at once; tracks, at each credit
   * the customer grants, what the provider may have in flight plus what sits unread.
   */
  async function download(streams: number, bytes: number) {
    const { customer, provider } = await activePair()
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider)
    pt.on('stream', (s: TunnelStream) => s.end(Buffer.alloc(bytes, s.id)))
    const received = new Map<number, number>()
    const credited = new Map<number, number>()
    const open = new Map<number, TunnelStream>()
    let maxStream = 0
    let maxTunnel = 0
    // Counted before the tunnel handles the frame: the credit it grants for it comes within that.
    customer.prependListener('stream_data', (m) =>
      received.set(m.streamId, (received.get(m.streamId) ?? 0) + m.data.byteLength)
    )
    const send = customer.send.bind(customer)
    customer.send = (msg) => {
      if (msg.type !== 'stream_credit') return send(msg)
      credited.set(msg.streamId, (credited.get(msg.streamId) ?? 0) + msg.bytes)
      let total = 0
      for (const [id, s] of open) {
        const held = STREAM_INITIAL_WINDOW + (credited.get(id) ?? 0) - (received.get(id) ?? 0) + s.readableLength
        if (id === msg.streamId) maxStream = Math.max(maxStream, held)
        total += held
      }
      maxTunnel = Math.max(maxTunnel, total)
      return send(msg)
    }
    const hashes = await Promise.all(
      Array.from({ length: streams }, async () => {
        const s = ct.openStream()
        open.set(s.id, s)
        s.end()
        const got = await readAll(s)
        open.delete(s.id)
        return sha(got) === sha(Buffer.alloc(bytes, s.id))
      })
    )
    expect(hashes.every(Boolean)).toBe(true)
    return { maxStream, maxTunnel }
  }

  test('grows while the reader keeps up, to STREAM_AUTO_WINDOW and no further', async () => {
    const { maxStream } = await download(1, 8 * 1024 * 1024)
    expect(maxStream).toBeGreaterThan(STREAM_INITIAL_WINDOW)
    expect(maxStream).toBeLessThanOrEqual(STREAM_AUTO_WINDOW)
  })

  test('all the streams of a tunnel together stay within its budget', async () => {
    const streams = 12
    const { maxTunnel } = await download(streams, 6 * 1024 * 1024)
    expect(streams * STREAM_AUTO_WINDOW).toBeGreaterThan(streams * STREAM_INITIAL_WINDOW + TUNNEL_WINDOW_BUDGET)
    expect(maxTunnel).toBeLessThanOrEqual(streams * STREAM_INITIAL_WINDOW + TUNNEL_WINDOW_BUDGET)
    expect(maxTunnel).toBeGreaterThan(streams * STREAM_INITIAL_WINDOW)
  })
})

describe('the payment cut-off (SPEC §4, payment gate)', () => {
  test('while the provider does not carry, no data crosses either way and no credit is granted; resuming delivers everything', async () => {
    const { customer, provider } = await activePair()
    let carrying = true
    const ct = new Tunnel(customer)
    const pt = new Tunnel(provider, { carries: () => carrying })
    const served = new Promise<TunnelStream>((resolve) => pt.once('stream', resolve))
    const s = ct.openStream()
    const remote = await served
    // Before the cut: one round trip each way, to show the stream works.
    s.write('hello')
    const [first] = (await once(remote, 'data')) as [Buffer]
    expect(first.toString()).toBe('hello')

    carrying = false
    const credits: number[] = []
    const sentCredit = provider.send.bind(provider)
    provider.send = (msg) => {
      if (msg.type === 'stream_credit') credits.push(msg.bytes)
      return sentCredit(msg)
    }
    const up = randomBytes(1024 * 1024)
    const down = randomBytes(1024 * 1024)
    const atProvider: Buffer[] = []
    const atCustomer: Buffer[] = []
    remote.on('data', (c: Buffer) => atProvider.push(c))
    s.on('data', (c: Buffer) => atCustomer.push(c))
    s.end(up)
    remote.end(down)
    // The customer may spend what is left of its window, and no more: wait until it has arrived,
    // then let a session message make the round trip so that every frame in flight has landed.
    await new Promise<void>((resolve) =>
      provider.on('stream_data', () => pt.stats.bytesReceived >= STREAM_INITIAL_WINDOW && resolve())
    )
    const skill = once(provider, 'skill_request')
    customer.send({ type: 'skill_request', kind: 5200 })
    await skill
    await new Promise((r) => setImmediate(r))
    expect(Buffer.concat(atProvider).length).toBe(0)
    expect(Buffer.concat(atCustomer).length).toBe(0)
    expect(pt.stats.bytesSent).toBe(0)
    expect(credits).toEqual([])
    expect(ct.stats.bytesSent).toBeLessThanOrEqual(5 + STREAM_INITIAL_WINDOW)

    carrying = true
    pt.resume()
    const [gotUp, gotDown] = await Promise.all([
      new Promise<Buffer>((resolve) => remote.once('end', () => resolve(Buffer.concat(atProvider)))),
      new Promise<Buffer>((resolve) => s.once('end', () => resolve(Buffer.concat(atCustomer))))
    ])
    expect(sha(gotUp)).toBe(sha(up))
    expect(sha(gotDown)).toBe(sha(down))
  })
})

describe('a hostile customer', () => {
  async function providerWithRawCustomer() {
    const [a, b] = pipePair()
    const provider = new SessionChannel(b, { role: 'provider', software: 'p' })
    const peer = rawPeer(a, 'customer')
    await provider.opened()
    peer.send(start)
    await once(provider, 'session_start')
    provider.send(ack)
    await peer.next('session_ack')
    const tunnel = new Tunnel(provider)
    const served: TunnelStream[] = []
    tunnel.on('stream', (s: TunnelStream) => {
      s.on('error', () => {})
      served.push(s)
      s.pipe(new Writable({ write: (_c, _e, cb) => setTimeout(cb, 1_000_000) })) // never consumes
    })
    return { provider, peer, tunnel, served }
  }

  test('overrunning the window closes the channel with FLOW_CONTROL_ERROR', async () => {
    const { provider, peer } = await providerWithRawCustomer()
    peer.send({ type: 'stream_open', streamId: 1 })
    const closed = once(provider, 'close')
    const chunk = new Uint8Array(65536)
    // The consumer takes one chunk and stalls, so it grants at most one chunk of extra credit.
    for (let i = 0; i < STREAM_INITIAL_WINDOW / 65536 + 4; i++)
      peer.sendFrame(encodeMessage({ type: 'stream_data', streamId: 1, data: chunk }))
    expect((await closed)[0]).toMatchObject({ code: 'FLOW_CONTROL_ERROR' })
    expect(await peer.next('error')).toMatchObject({ code: 'FLOW_CONTROL_ERROR' })
  })

  test('data for a stream never opened closes the channel', async () => {
    const { provider, peer } = await providerWithRawCustomer()
    const closed = once(provider, 'close')
    peer.send({ type: 'stream_data', streamId: 9, data: new Uint8Array(1) })
    expect((await closed)[0]).toMatchObject({ code: 'UNEXPECTED_MESSAGE' })
  })

  test('a reused stream id closes the channel', async () => {
    const { provider, peer } = await providerWithRawCustomer()
    peer.send({ type: 'stream_open', streamId: 5 })
    const closed = once(provider, 'close')
    peer.send({ type: 'stream_open', streamId: 5 })
    expect((await closed)[0]).toMatchObject({ code: 'UNEXPECTED_MESSAGE' })
  })

  test('thousands of streams at once: the provider holds at most its limit', async () => {
    const { peer, tunnel, served } = await providerWithRawCustomer()
    for (let i = 1; i <= 3000; i++) peer.send({ type: 'stream_open', streamId: i })
    // The channel is ordered: once the skill round trip is done, every open was handled.
    tunnel.channel.once('skill_request', () =>
      tunnel.channel.send({
        type: 'skill_response',
        manifest: '{}',
        offers: [],
        tickSeconds: 60,
        paymentMethods: [],
        capacity: 0,
        maxSessions: 1,
        identity: null
      })
    )
    peer.send({ type: 'skill_request', kind: 1 })
    await peer.next('skill_response')
    expect(served.length).toBe(256)
    expect(tunnel.openStreams).toBe(256)
    expect(peer.received.filter((m) => m.type === 'stream_reset').length).toBeGreaterThan(0)
  })
})
