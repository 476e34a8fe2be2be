// ProviderSession on its own (SPEC §5.2-5.5): a customer built from the protocol package on an
// in-memory pipe, and an invoicer the test controls (it can hold, fail or reorder make_invoice and
// lookup_invoice). These are the races and faults an end-to-end run hits only by luck: a resume
// while an invoice is being made, one payment acknowledged on two channels, the wallet confirming
// tick n+1 before tick n, a wallet outage shorter than the grace. The invoicer's own record of what
// the customer paid is the ledger the provider's ended record must agree with.

import { createHash, randomBytes } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { afterAll, afterEach, beforeAll, expect, onTestFailed, test } from 'vitest'
import {
  SessionChannel,
  tickAmountMsat,
  tickInvoiceDescription,
  type Message,
  type MessageOf,
  type MessageType,
  type SessionAck,
  type Tick
} from '@2020117/protocol'
import { pipePair } from '@2020117/protocol/testing'
import { Tunnel } from '@2020117/tunnel'
import { createLogger } from '@2020117/cli'
import { npubOf } from '@2020117/nostr'
import { ProviderSession, type Invoicer, type SessionSummary } from '../src/session.js'

/** The provider's npub every invoice must name (any valid npub: the session does not check it). */
const PAYEE = npubOf('f'.repeat(63) + 'e')
const PAYER = npubOf('e'.repeat(64))
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** Exceptions that escaped to the process: in the agent, each of these is a crash. */
const uncaught: unknown[] = []
const onUncaught = (err: unknown) => void uncaught.push(err)
beforeAll(() => void process.on('uncaughtException', onUncaught))
afterAll(() => void process.off('uncaughtException', onUncaught))

const sessions: ProviderSession[] = []
afterEach(() => {
  for (const s of sessions.splice(0)) s.end('PROVIDER_SHUTDOWN', 'test over')
})

/** Makes invoices with known preimages; `pay()` is the customer's wallet, `paid` its ledger. */
class FakeInvoicer implements Invoicer {
  readonly preimages = new Map<string, Buffer>()
  readonly paid = new Set<string>()
  readonly claimed = new Set<string>()
  makes = 0
  readonly descriptions: string[] = []
  readonly lookups = new Map<string, number>()
  /** Runs before each make (n counts from 0): throw to fail it, return a promise to hold it. */
  onMake: (n: number) => Promise<void> | void = () => {}
  /** Runs before each lookup (n counts per hash): throw to fail it, return a promise to hold it. */
  onLookup: (hash: string, n: number) => Promise<void> | void = () => {}

  /** Hands out its first invoice again and again, as a broken or dishonest LNURL server would. */
  replay = false
  private first: { bolt11: string; paymentHash: string; expiresAt: number } | null = null

  async make(_amountMsat: number, description: string) {
    this.descriptions.push(description)
    await this.onMake(this.makes++)
    if (this.replay && this.first) return this.first
    const preimage = randomBytes(32)
    const paymentHash = sha(preimage)
    this.preimages.set(paymentHash, preimage)
    this.first ??= { bolt11: `lnbcrt${paymentHash}`, paymentHash, expiresAt: Math.floor(Date.now() / 1000) + 600 }
    return { bolt11: `lnbcrt${paymentHash}`, paymentHash, expiresAt: Math.floor(Date.now() / 1000) + 600 }
  }

  async settled(paymentHash: string) {
    const n = this.lookups.get(paymentHash) ?? 0
    this.lookups.set(paymentHash, n + 1)
    await this.onLookup(paymentHash, n)
    return this.paid.has(paymentHash)
  }

  async claim(paymentHash: string) {
    if (this.claimed.has(paymentHash)) return false
    this.claimed.add(paymentHash)
    return true
  }

  hashOf(tick: Tick): string {
    return tick.bolt11.slice('lnbcrt'.length)
  }

  /** The customer's wallet pays the tick's invoice and learns its preimage. */
  pay(tick: Tick): Buffer {
    const hash = this.hashOf(tick)
    this.paid.add(hash)
    return this.preimages.get(hash) as Buffer
  }
}

interface Link {
  customer: SessionChannel
  provider: SessionChannel
  /** Drops the connection under both channels, as a network failure would. */
  drop(): void
}

async function link(): Promise<Link> {
  const [a, b] = pipePair()
  const customer = new SessionChannel(a, { role: 'customer', software: 'billing-test/customer' })
  const provider = new SessionChannel(b, { role: 'provider', software: 'billing-test/provider' })
  const seen: Message[] = []
  history.set(customer, seen)
  customer.on('message', (m) => seen.push(m))
  await Promise.all([customer.opened(), provider.opened()])
  return { customer, provider, drop: () => a.destroy() }
}

/** Everything each customer channel received, so that a wait never misses what came first. */
const history = new WeakMap<SessionChannel, Message[]>()

/** The first message of `type` on `channel` satisfying `pred`; rejects if the session ends or the channel closes first. */
function next<T extends MessageType>(
  channel: SessionChannel,
  type: T,
  pred: (m: MessageOf<T>) => boolean = () => true
): Promise<MessageOf<T>> {
  const already = history.get(channel)?.find((m) => m.type === type && pred(m as MessageOf<T>))
  if (already) return Promise.resolve(already as MessageOf<T>)
  return new Promise((resolve, reject) => {
    const onmsg = (m: Message) => {
      if (m.type === type && pred(m as MessageOf<T>)) {
        channel.off('message', onmsg)
        resolve(m as MessageOf<T>)
      } else if (m.type === 'session_end')
        reject(new Error(`the session ended ${m.reason} (${m.message}) before the ${type}`))
    }
    channel.on('message', onmsg)
    channel.once('close', (err) => reject(new Error(`the channel closed (${err?.code ?? 'clean'}) before the ${type}`)))
  })
}

interface Started {
  session: ProviderSession
  ack: SessionAck
  link: Link
  ended: Promise<SessionSummary>
  log: string[]
}

async function startSession(
  invoicer: Invoicer,
  opts: { tickSeconds?: number; graceSeconds?: number; serve?: (s: any) => void } = {}
): Promise<Started> {
  const l = await link()
  const start = new Promise((resolve) => l.provider.once('session_start', resolve))
  l.customer.send({
    type: 'session_start',
    kind: 5200,
    budgetSats: 100_000,
    maxSatsPerMinute: 60,
    paymentMethod: 'bolt11',
    customerPubkey: null
  })
  await start
  const log: string[] = []
  let onended!: (s: SessionSummary) => void
  const ended = new Promise<SessionSummary>((resolve) => (onended = resolve))
  const session = new ProviderSession({
    channel: l.provider,
    terms: {
      kind: 5200,
      satsPerMinute: 60,
      tickSeconds: opts.tickSeconds ?? 1,
      graceSeconds: opts.graceSeconds ?? 10,
      paymentMethod: 'bolt11',
      payee: PAYEE,
      payer: PAYER
    },
    invoicer,
    log: createLogger({ level: 'debug', write: (line) => log.push(line) }),
    serve: opts.serve ?? ((s) => void pipeline(s, s).catch(() => {})),
    onend: (s) => s.ended && onended(s.ended)
  })
  sessions.push(session)
  onTestFailed(() => console.log(`session ${session.idHex.slice(0, 8)} log:\n${log.join('\n')}`))
  const acked = next(l.customer, 'session_ack')
  session.start()
  return { session, ack: await acked, link: l, ended, log }
}

/** The customer comes back on a new connection, as apps/agent/src/provider.ts routes a session_resume. */
async function resume(s: Started): Promise<{ link: Link; resumed: MessageOf<'session_resumed'> }> {
  const l = await link()
  l.provider.on('session_resume', (m) => {
    if (s.session.owns(m.resumeSecret)) s.session.attach(l.provider)
  })
  const resumed = next(l.customer, 'session_resumed')
  l.customer.send({ type: 'session_resume', sessionId: s.ack.sessionId, resumeSecret: s.ack.resumeSecret })
  return { link: l, resumed: await resumed }
}

/**
 * An honest customer on `channel`: pays each tick at most once (a re-sent tick it already paid is
 * acknowledged with the preimage it holds), in order, and only those `which` accepts.
 */
function autopay(
  channel: SessionChannel,
  inv: FakeInvoicer,
  ack: SessionAck,
  which: (t: Tick) => boolean = () => true
): void {
  channel.on('tick', (t: Tick) => {
    if (!which(t)) return
    const hash = inv.hashOf(t)
    const preimage = inv.paid.has(hash) ? (inv.preimages.get(hash) as Buffer) : inv.pay(t)
    if (!channel.closed) channel.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: t.seq, preimage })
  })
}

function quit(channel: SessionChannel, ack: SessionAck): void {
  channel.send({
    type: 'session_end',
    sessionId: ack.sessionId,
    by: 'customer',
    reason: 'CUSTOMER_QUIT',
    message: '',
    ticksPaid: 0,
    msatPaid: 0,
    durationMs: 0
  })
}

/** A stream through the session's tunnel is served (the test's serve() echoes). */
async function served(channel: SessionChannel, tunnel: Tunnel): Promise<boolean> {
  const stream = tunnel.openStream()
  stream.on('error', () => {})
  const echoed = new Promise<boolean>((resolve) => {
    stream.once('data', (d: Buffer) => resolve(d.toString() === 'ping'))
    stream.once('error', () => resolve(false))
  })
  stream.write('ping')
  const ok = await echoed
  stream.destroy()
  return ok && !channel.closed
}

const amount = tickAmountMsat(60, 1)

test("every tick's invoice names the session, the provider and the customer, as a review's proof of payment needs (SPEC §11.3)", async () => {
  const inv = new FakeInvoicer()
  const s = await startSession(inv)
  autopay(s.link.customer, inv, s.ack)
  await next(s.link.customer, 'tick_receipt', (r) => r.seq === 1)
  expect(inv.descriptions.slice(0, 2)).toEqual([
    `2020117 session ${s.session.idHex} tick 0 ${PAYEE} ${PAYER}`,
    `2020117 session ${s.session.idHex} tick 1 ${PAYEE} ${PAYER}`
  ])
  expect(inv.descriptions[0]).toBe(tickInvoiceDescription(s.session.idHex, 0, PAYEE, PAYER))
})

test('a resume that arrives while an invoice is being made: the tick goes out on the new channel and the session carries on', async () => {
  // Item 13. The next seq used to be taken before the invoice was made, so session_resumed named
  // the seq after it and the tick then broke the new channel's order: PROVIDER_ERROR.
  const inv = new FakeInvoicer()
  let release!: () => void
  const making = new Promise<void>((entered) => {
    inv.onMake = (n) => {
      if (n !== 1) return
      entered()
      return new Promise<void>((r) => (release = r))
    }
  })
  const s = await startSession(inv)
  autopay(s.link.customer, inv, s.ack)
  await next(s.link.customer, 'tick_receipt', (r) => r.seq === 0)
  await making
  s.link.drop()
  const r = await resume(s)
  expect(r.resumed.nextSeq).toBe(1)
  autopay(r.link.customer, inv, s.ack)
  release()
  await next(r.link.customer, 'tick_receipt', (m) => m.seq === 1)
  await next(r.link.customer, 'tick_receipt', (m) => m.seq === 2)
  expect(s.session.over).toBe(false)
  quit(r.link.customer, s.ack)
  const ended = await s.ended
  expect(ended).toMatchObject({ reason: 'CUSTOMER_QUIT', resumes: 1 })
  expect(ended.msatPaid).toBe(inv.paid.size * amount)
  expect(uncaught).toEqual([])
})

test('one payment acknowledged on the dropped channel and again on the resumed one counts once: the ended record equals the ledger', async () => {
  // Item 17. The ack on the dropped channel was still being looked up when the resumed channel
  // acked the same tick; each check counted it.
  const inv = new FakeInvoicer()
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  let lookingUp!: () => void
  const lookup = new Promise<void>((r) => (lookingUp = r))
  inv.onLookup = () => {
    lookingUp()
    return held
  }
  const s = await startSession(inv, { tickSeconds: 60 })
  autopay(s.link.customer, inv, s.ack)
  await lookup
  s.link.drop()
  const r = await resume(s)
  expect(r.resumed.nextSeq).toBe(0)
  autopay(r.link.customer, inv, s.ack)
  const tick = await next(r.link.customer, 'tick', (t) => t.seq === 0)
  expect(inv.paid.has(inv.hashOf(tick))).toBe(true)
  // The re-sent tick is acknowledged again (with the preimage already held) before the wallet answers.
  await new Promise((resolve) => r.link.provider.once('tick_ack', resolve))
  release()
  await next(r.link.customer, 'tick_receipt', (m) => m.seq === 0)
  quit(r.link.customer, s.ack)
  const ended = await s.ended
  expect(inv.paid.size).toBe(1)
  expect(ended).toMatchObject({ ticksPaid: 1, msatPaid: tickAmountMsat(60, 60) })
  expect(uncaught).toEqual([])
})

test('the wallet confirms tick n+1 before tick n, then the customer resumes: nothing escapes, and another session is served and paid throughout', async () => {
  // Item 9. Payments were counted in the order the wallet answered, so tick n+2 was billed while
  // tick n was still unpaid; on resume attach() re-sent ticks n and n+2, the channel refused the
  // gap, and the exception escaped the session_resume listener: the agent exited.
  const inv = new FakeInvoicer()
  const honest = await startSession(inv)
  autopay(honest.link.customer, inv, honest.ack)
  const honestTunnel = new Tunnel(honest.link.customer)
  await next(honest.link.customer, 'tick_receipt', (m) => m.seq === 0)

  const hostile = await startSession(inv)
  autopay(hostile.link.customer, inv, hostile.ack, (t) => t.seq === 0)
  await next(hostile.link.customer, 'tick_receipt', (m) => m.seq === 0)
  // Ticks 1 and 2 are paid together; the wallet answers for tick 2 at once and holds tick 1.
  const [t1, t2] = await Promise.all([
    next(hostile.link.customer, 'tick', (t) => t.seq === 1),
    next(hostile.link.customer, 'tick', (t) => t.seq === 2)
  ])
  let release!: () => void
  const held = new Promise<void>((r) => (release = r))
  inv.onLookup = (hash) => (hash === inv.hashOf(t1) ? held : undefined)
  for (const t of [t1, t2])
    hostile.link.customer.send({ type: 'tick_ack', sessionId: hostile.ack.sessionId, seq: t.seq, preimage: inv.pay(t) })
  // Let the honest session run two more periods meanwhile (the old code billed tick 3 here).
  const at = (await next(honest.link.customer, 'tick_receipt', (m) => m.seq >= 3)).seq
  expect(await served(honest.link.customer, honestTunnel)).toBe(true)

  hostile.link.drop()
  const r = await resume(hostile)
  expect(r.resumed.nextSeq).toBe(1)
  autopay(r.link.customer, inv, hostile.ack)
  release()
  await next(r.link.customer, 'tick_receipt', (m) => m.seq === 2)
  expect(uncaught).toEqual([])

  await next(honest.link.customer, 'tick_receipt', (m) => m.seq >= at + 2)
  expect(await served(honest.link.customer, honestTunnel)).toBe(true)
  expect(honest.session.over).toBe(false)
  quit(honest.link.customer, honest.ack)
  quit(r.link.customer, hostile.ack)
  const [h, o] = await Promise.all([hostile.ended, honest.ended])
  expect(h.reason).toBe('CUSTOMER_QUIT')
  expect(o.reason).toBe('CUSTOMER_QUIT')
  expect(h.msatPaid + o.msatPaid).toBe(inv.paid.size * amount)
  expect(uncaught).toEqual([])
})

test('a listener that throws on a peer frame ends that session only (PROVIDER_ERROR); the other session is served and paid', async () => {
  // Item 9. SessionChannel rethrew a listener's exception on a microtask, which exits the agent.
  const inv = new FakeInvoicer()
  const honest = await startSession(inv)
  autopay(honest.link.customer, inv, honest.ack)
  const honestTunnel = new Tunnel(honest.link.customer)
  const broken = await startSession(inv, {
    serve: () => {
      throw new Error('a bug in the gateway')
    }
  })
  autopay(broken.link.customer, inv, broken.ack)
  await next(broken.link.customer, 'tick_receipt', (m) => m.seq === 0)
  const stream = new Tunnel(broken.link.customer).openStream()
  stream.on('error', () => {})
  stream.write('ping')
  const ended = await broken.ended
  expect(ended).toMatchObject({ reason: 'PROVIDER_ERROR', by: 'provider' })
  expect(uncaught).toEqual([])

  const at = (history.get(honest.link.customer) ?? []).filter((m) => m.type === 'tick_receipt').length
  await next(honest.link.customer, 'tick_receipt', (m) => m.seq >= at)
  expect(await served(honest.link.customer, honestTunnel)).toBe(true)
  expect(honest.session.over).toBe(false)
})

test('one invoice billed to two sessions at once and paid once is credited to one of them only', async () => {
  // Item 11. Each session checked only the preimage, so one payment bought both.
  const inv = new FakeInvoicer()
  inv.replay = true
  const a = await startSession(inv, { tickSeconds: 60 })
  const b = await startSession(inv, { tickSeconds: 60 })
  const [ta, tb] = await Promise.all([next(a.link.customer, 'tick'), next(b.link.customer, 'tick')])
  expect(ta.bolt11).toBe(tb.bolt11)
  const preimage = inv.pay(ta)
  a.link.customer.send({ type: 'tick_ack', sessionId: a.ack.sessionId, seq: 0, preimage })
  await next(a.link.customer, 'tick_receipt')
  b.link.customer.send({ type: 'tick_ack', sessionId: b.ack.sessionId, seq: 0, preimage })
  const endB = await new Promise<MessageOf<'session_end'>>((resolve) => b.link.customer.on('session_end', resolve))
  expect(endB).toMatchObject({ reason: 'UNPAID', ticksPaid: 0 })
  quit(a.link.customer, a.ack)
  const [ea, eb] = await Promise.all([a.ended, b.ended])
  expect(ea.msatPaid + eb.msatPaid).toBe(inv.paid.size * tickAmountMsat(60, 60))
})

test('a SessionChannel listener that throws closes that channel only, with INTERNAL_ERROR, and tells the peer nothing more', async () => {
  // Item 9. The channel rethrew a listener's exception on a microtask: in the agent, an exit.
  const l = await link()
  l.provider.on('skill_request', () => {
    throw new Error('a bug near /home/provider/secret-state')
  })
  const closed = new Promise((resolve) => l.provider.once('close', resolve))
  const heard = next(l.customer, 'error')
  l.customer.send({ type: 'skill_request', kind: 5200 })
  expect(await closed).toMatchObject({ code: 'INTERNAL_ERROR' })
  const error = await heard
  expect(error.code).toBe('INTERNAL_ERROR')
  expect(error.message).not.toMatch(/secret|home/)
  expect(uncaught).toEqual([])
})

test('make_invoice fails three times and then works: the provider retries, and the session carries on', async () => {
  // Item 22. The first failure ended the session PROVIDER_ERROR.
  const inv = new FakeInvoicer()
  inv.onMake = (n) => {
    if (n >= 1 && n <= 3) throw new Error('make_invoice: connect ECONNREFUSED 127.0.0.1:1')
  }
  const s = await startSession(inv, { graceSeconds: 5 })
  autopay(s.link.customer, inv, s.ack)
  await next(s.link.customer, 'tick_receipt', (m) => m.seq === 1)
  await next(s.link.customer, 'tick_receipt', (m) => m.seq === 2)
  expect(inv.makes).toBeGreaterThanOrEqual(6)
  expect(s.session.over).toBe(false)
  expect(s.log.some((l) => /retry/.test(l) && /ECONNREFUSED/.test(l))).toBe(true)
})

test('lookup_invoice fails three times and then answers: the provider asks again before it counts the payment', async () => {
  // Item 22. One failed lookup was taken as "cannot tell": the payment counted on the preimage
  // alone, without the wallet's word that a later try would have given.
  const inv = new FakeInvoicer()
  inv.onLookup = (_hash, n) => {
    if (n < 3) throw new Error('lookup_invoice: connect ECONNREFUSED 127.0.0.1:1')
  }
  const s = await startSession(inv, { tickSeconds: 60, graceSeconds: 5 })
  autopay(s.link.customer, inv, s.ack)
  const receipt = await next(s.link.customer, 'tick_receipt', (m) => m.seq === 0)
  expect(receipt.paidUntil).toBe(60)
  expect([...inv.lookups.values()]).toEqual([4])
})

test('make_invoice that never works: the session ends PROVIDER_ERROR only once the grace is spent, saying what failed', async () => {
  // Item 22. The session ended at the first failure, with a message that did not say why.
  const inv = new FakeInvoicer()
  inv.onMake = (n) => {
    if (n >= 1) throw new Error('make_invoice: connect ECONNREFUSED 127.0.0.1:1')
  }
  const s = await startSession(inv, { graceSeconds: 1 })
  autopay(s.link.customer, inv, s.ack)
  const end = await new Promise<MessageOf<'session_end'>>((resolve) => s.link.customer.on('session_end', resolve))
  expect(end).toMatchObject({ reason: 'PROVIDER_ERROR', by: 'provider', ticksPaid: 1 })
  expect(end.message).toMatch(/ECONNREFUSED/)
  // Tick 1 is due at 1 s; an unpaid tick would end the session 2G later, and so does a missing one.
  expect(end.durationMs).toBeGreaterThanOrEqual(2990)
})
