import { once } from 'node:events'
import { describe, expect, test } from 'vitest'
import { SessionChannel } from '../src/channel.js'
import { MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../src/constants.js'
import { ProtocolError } from '../src/errors.js'
import { encodeMessage, type Message, type SessionAck } from '../src/messages.js'
import { pipePair } from '../src/testing/pipe.js'
import { rawPeer, type RawPeer } from '../src/testing/raw-peer.js'

const sid = new Uint8Array(16).fill(7)
const ack: SessionAck = {
  type: 'session_ack',
  sessionId: sid,
  satsPerMinute: 5,
  tickSeconds: 2,
  graceSeconds: 5,
  resumeSecret: new Uint8Array(32)
}
const start: Message = {
  type: 'session_start',
  kind: 5200,
  budgetSats: 500,
  maxSatsPerMinute: 10,
  paymentMethod: 'bolt11',
  customerPubkey: null
}
const tick = (seq: number): Message => ({
  type: 'tick',
  sessionId: sid,
  seq,
  amountMsat: 167,
  bolt11: 'lnbcrt1',
  periodStart: seq * 2,
  periodEnd: seq * 2 + 2
})
const tickAck = (seq: number): Message => ({ type: 'tick_ack', sessionId: sid, seq, preimage: new Uint8Array(32) })

async function pair() {
  const [a, b] = pipePair()
  const customer = track(new SessionChannel(a, { role: 'customer', software: 'test-customer' }))
  const provider = track(new SessionChannel(b, { role: 'provider', software: 'test-provider' }))
  await Promise.all([customer.opened(), provider.opened()])
  return { customer, provider, streams: [a, b] as const }
}

// Every message a channel receives, in order, from the moment it is created: tests take them one
// by one and never race a listener against delivery.
const inboxes = new WeakMap<SessionChannel, { queue: Message[]; waiting: Array<(m: Message) => void> }>()
function track(ch: SessionChannel): SessionChannel {
  const box = { queue: [] as Message[], waiting: [] as Array<(m: Message) => void> }
  inboxes.set(ch, box)
  ch.on('message', (m) => {
    const w = box.waiting.shift()
    if (w) w(m)
    else box.queue.push(m)
  })
  return ch
}
function nextMessage(ch: SessionChannel): Promise<Message> {
  const box = inboxes.get(ch)!
  const m = box.queue.shift()
  return m ? Promise.resolve(m) : new Promise((resolve) => box.waiting.push(resolve))
}

function closeError(ch: SessionChannel): Promise<ProtocolError | null> {
  if (ch.closed) return Promise.resolve(ch.closeError)
  return once(ch, 'close').then(([e]) => e as ProtocolError | null)
}

describe('handshake', () => {
  test('peers exchange version, role and software', async () => {
    const { customer, provider } = await pair()
    expect(customer.remote).toEqual({ version: PROTOCOL_VERSION, role: 'provider', software: 'test-provider' })
    expect(provider.remote).toEqual({ version: PROTOCOL_VERSION, role: 'customer', software: 'test-customer' })
    expect(customer.state).toBe('idle')
  })

  test('an incompatible version is refused with VERSION_MISMATCH, and the peer is told', async () => {
    const [a, b] = pipePair()
    const provider = new SessionChannel(b, { role: 'provider', software: 'p' })
    const old = rawPeer(a, 'customer', PROTOCOL_VERSION + 1)
    await expect(provider.opened()).rejects.toMatchObject({ code: 'VERSION_MISMATCH' })
    expect(provider.closeError?.code).toBe('VERSION_MISMATCH')
    expect(await old.next('error')).toMatchObject({ type: 'error', code: 'VERSION_MISMATCH' })
  })

  test('two customers refuse each other with ROLE_MISMATCH', async () => {
    const [a, b] = pipePair()
    const one = new SessionChannel(a, { role: 'customer', software: 'a' })
    const two = new SessionChannel(b, { role: 'customer', software: 'b' })
    await expect(one.opened()).rejects.toMatchObject({ code: 'ROLE_MISMATCH' })
    await expect(two.opened()).rejects.toMatchObject({ code: 'ROLE_MISMATCH' })
  })
})

describe('a whole session through the state machine', () => {
  test('skill, start, reject, start, ack, ticks, receipts, end', async () => {
    const { customer, provider } = await pair()

    customer.send({ type: 'skill_request', kind: 5200 })
    expect(await nextMessage(provider)).toEqual({ type: 'skill_request', kind: 5200 })
    expect(() => customer.send({ type: 'skill_request', kind: 5200 })).toThrow(/already unanswered/)
    provider.send({
      type: 'skill_response',
      manifest: '{}',
      offers: [{ kind: 5200, satsPerMinute: 5 }],
      tickSeconds: 2,
      paymentMethods: ['bolt11'],
      capacity: 1,
      maxSessions: 1,
      identity: null
    })
    expect((await nextMessage(customer)).type).toBe('skill_response')

    customer.send(start)
    await nextMessage(provider)
    expect(provider.state).toBe('starting')
    provider.send({ type: 'session_reject', code: 'NO_CAPACITY', message: 'full' })
    await nextMessage(customer)
    expect(customer.state).toBe('idle')

    customer.send(start)
    await nextMessage(provider)
    provider.send(ack)
    await nextMessage(customer)
    expect(customer.state).toBe('active')
    expect(Buffer.from(customer.session!.sessionId)).toEqual(Buffer.from(sid))

    provider.send(tick(0))
    provider.send(tick(1))
    expect(() => provider.send(tick(2))).toThrow(/already unpaid/)
    await nextMessage(customer)
    await nextMessage(customer)
    expect(customer.unpaidTicks).toEqual([0, 1])
    expect(() => customer.send(tickAck(1))).toThrow(/oldest unpaid/)
    customer.send(tickAck(0))
    await nextMessage(provider)
    provider.send({ type: 'tick_receipt', sessionId: sid, seq: 0, paidUntil: 2 })
    expect(() => provider.send({ type: 'tick_receipt', sessionId: sid, seq: 1, paidUntil: 4 })).toThrow(
      /not acknowledged/
    )
    expect(await nextMessage(customer)).toMatchObject({ type: 'tick_receipt', seq: 0, paidUntil: 2 })

    const customerClosed = closeError(customer)
    const providerClosed = closeError(provider)
    customer.send({
      type: 'session_end',
      sessionId: sid,
      by: 'customer',
      reason: 'CUSTOMER_QUIT',
      message: '',
      ticksPaid: 1,
      msatPaid: 167,
      durationMs: 10
    })
    expect(await providerClosed).toBeNull()
    expect(await customerClosed).toBeNull()
    expect(() => customer.send(start)).toThrow(ProtocolError)
  })
})

describe('sending', () => {
  // The channel encodes straight into the transport's buffer: a message out of its bounds must still
  // throw before anything is written, and leave the state machine where it was.
  test('a message out of its bounds throws, sends nothing and changes no state', async () => {
    const { customer, provider } = await pair()
    expect(() => customer.send({ ...start, budgetSats: -1 } as Message)).toThrow(ProtocolError)
    expect(customer.state).toBe('idle')
    customer.send(start)
    expect(await nextMessage(provider)).toEqual(start)
    provider.send(ack)
    await nextMessage(customer)
    const tooBig = { type: 'stream_data', streamId: 1, data: new Uint8Array(MAX_FRAME_BYTES) } as const
    expect(() => customer.send(tooBig)).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }))
    customer.send({ type: 'stream_open', streamId: 1 })
    expect(await nextMessage(provider)).toEqual({ type: 'stream_open', streamId: 1 })
  })
})

describe('resume', () => {
  test('session_resume, session_resumed, then ticks continue at nextSeq', async () => {
    const { customer, provider } = await pair()
    customer.send({ type: 'session_resume', sessionId: sid, resumeSecret: new Uint8Array(32) })
    expect((await nextMessage(provider)).type).toBe('session_resume')
    expect(() => provider.send(ack)).toThrow(/not legal/)
    provider.send({
      type: 'session_resumed',
      sessionId: sid,
      satsPerMinute: 5,
      tickSeconds: 2,
      graceSeconds: 5,
      nextSeq: 3,
      paidUntil: 6,
      elapsedMs: 6100
    })
    expect((await nextMessage(customer)).type).toBe('session_resumed')
    expect(customer.state).toBe('active')
    expect(() => provider.send(tick(2))).toThrow(/out of order/)
    provider.send(tick(3))
    expect(await nextMessage(customer)).toMatchObject({ type: 'tick', seq: 3 })
    customer.send(tickAck(3))
    await nextMessage(provider)
  })

  test('a resume can be refused, and the channel is idle again', async () => {
    const { customer, provider } = await pair()
    customer.send({ type: 'session_resume', sessionId: sid, resumeSecret: new Uint8Array(32) })
    await nextMessage(provider)
    provider.send({ type: 'session_reject', code: 'RESUME_REFUSED', message: 'no such session' })
    await nextMessage(customer)
    expect(customer.state).toBe('idle')
  })

  test('session_resumed that answers nothing is refused', async () => {
    const [a, b] = pipePair()
    const customer = new SessionChannel(a, { role: 'customer', software: 'c' })
    const peer = rawPeer(b, 'provider')
    await customer.opened()
    const closed = closeError(customer)
    peer.send({
      type: 'session_resumed',
      sessionId: sid,
      satsPerMinute: 5,
      tickSeconds: 2,
      graceSeconds: 5,
      nextSeq: 0,
      paidUntil: 0,
      elapsedMs: 0
    })
    expect((await closed)?.code).toBe('UNEXPECTED_MESSAGE')
  })
})

describe('a hostile peer', () => {
  // Each case drives a real customer channel to a state, then has a raw provider send one frame.
  type Case = { name: string; setup: (peer: RawPeer) => Promise<void>; frame: Uint8Array; code: string }
  const toActive = async (peer: RawPeer, customer: SessionChannel) => {
    customer.send(start)
    await peer.next('session_start')
    const acked = once(customer, 'session_ack')
    peer.send(ack)
    await acked
  }
  const cases: Array<Omit<Case, 'setup'> & { active: boolean }> = [
    { name: 'tick before any session', active: false, frame: encodeMessage(tick(0)), code: 'UNEXPECTED_MESSAGE' },
    {
      name: 'unrequested skill_response',
      active: false,
      frame: encodeMessage({
        type: 'skill_response',
        manifest: '{}',
        offers: [],
        tickSeconds: 1,
        paymentMethods: [],
        capacity: 0,
        maxSessions: 0,
        identity: null
      }),
      code: 'UNEXPECTED_MESSAGE'
    },
    { name: 'session_ack without session_start', active: false, frame: encodeMessage(ack), code: 'UNEXPECTED_MESSAGE' },
    {
      name: 'a customer-only message from the provider',
      active: false,
      frame: encodeMessage(start),
      code: 'UNEXPECTED_MESSAGE'
    },
    { name: 'tick out of order', active: true, frame: encodeMessage(tick(1)), code: 'UNEXPECTED_MESSAGE' },
    {
      name: 'tick for another session',
      active: true,
      frame: encodeMessage({ ...tick(0), sessionId: new Uint8Array(16) } as Message),
      code: 'UNKNOWN_SESSION'
    },
    {
      name: 'receipt for an unpaid tick',
      active: true,
      frame: encodeMessage({ type: 'tick_receipt', sessionId: sid, seq: 0, paidUntil: 2 }),
      code: 'UNEXPECTED_MESSAGE'
    },
    {
      name: 'session_end that names the customer',
      active: true,
      frame: encodeMessage({
        type: 'session_end',
        sessionId: sid,
        by: 'customer',
        reason: 'X',
        message: '',
        ticksPaid: 0,
        msatPaid: 0,
        durationMs: 0
      }),
      code: 'UNEXPECTED_MESSAGE'
    },
    {
      name: 'stream_open from the provider',
      active: true,
      frame: encodeMessage({ type: 'stream_open', streamId: 1 }),
      code: 'UNEXPECTED_MESSAGE'
    },
    {
      name: 'stream_data before a session',
      active: false,
      frame: encodeMessage({ type: 'stream_data', streamId: 1, data: new Uint8Array(1) }),
      code: 'UNEXPECTED_MESSAGE'
    },
    { name: 'garbage', active: false, frame: new Uint8Array([0x06, 0xff]), code: 'DECODE_ERROR' },
    { name: 'an unknown message type', active: true, frame: new Uint8Array([0x40, 0x00]), code: 'UNKNOWN_MESSAGE' },
    {
      name: 'a frame over the size limit',
      active: true,
      frame: new Uint8Array(MAX_FRAME_BYTES + 1).fill(1),
      code: 'FRAME_TOO_LARGE'
    }
  ]

  test.each(cases)(
    '$name closes the channel with $code, tells the peer, and keeps the connection',
    async ({ active, frame, code }) => {
      const [a, b] = pipePair()
      const customer = new SessionChannel(a, { role: 'customer', software: 'c' })
      const peer = rawPeer(b, 'provider')
      await customer.opened()
      if (active) await toActive(peer, customer)
      const closed = closeError(customer)
      peer.sendFrame(frame)
      expect((await closed)?.code).toBe(code)
      expect(await peer.next('error')).toMatchObject({ code })
      await peer.closed
      // Only the channel closed: the connection under it is intact.
      expect(a.destroyed).toBe(false)
      expect(b.destroyed).toBe(false)
    }
  )

  test('an error frame from the peer closes the channel with REMOTE_ERROR', async () => {
    const [a, b] = pipePair()
    const customer = new SessionChannel(a, { role: 'customer', software: 'c' })
    const peer = rawPeer(b, 'provider')
    await customer.opened()
    peer.send({ type: 'error', code: 'OVERLOADED', message: 'try later' })
    const err = await closeError(customer)
    expect(err).toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'OVERLOADED' })
  })

  test('a session_start flood on one channel is refused after the first', async () => {
    const [a, b] = pipePair()
    const provider = new SessionChannel(b, { role: 'provider', software: 'p' })
    const peer = rawPeer(a, 'customer')
    await provider.opened()
    const starts: Message[] = []
    provider.on('session_start', (m) => starts.push(m))
    const closed = closeError(provider)
    for (let i = 0; i < 100; i++) peer.send(start)
    expect((await closed)?.code).toBe('UNEXPECTED_MESSAGE')
    expect(starts).toHaveLength(1)
  })

  test('a closed connection closes the channel with CHANNEL_CLOSED', async () => {
    const { customer, streams } = await pair()
    const closed = closeError(customer)
    streams[1].destroy()
    expect((await closed)?.code).toBe('CHANNEL_CLOSED')
  })
})
