// The real customer CLI against a provider that cheats (SPEC §5.4, §6, §8.3). Each test makes the
// fake provider (helpers/fake-provider.ts) send one bad thing and checks that the customer ends the
// session with the reason that names it, exits 3 without a stack trace, and that its wallet paid
// exactly the honest ticks before it: no more.
//
// Wherever the devnet wallet can pay the bad tick, it is made payable (issued by the devnet wallet,
// after an honest session_ack), so that without the check under test the customer would pay it and
// the balance assertion would fail. Where no honest wallet could pay it (expired, another network,
// another node key, no amount, a reused hash) removing the check turns the reason into
// PAYMENT_FAILED, which the reason assertion catches. A bad tick the customer pays all the same
// makes the fake end the session BAD_TICK_PAID, so a missing check fails fast and by name.

import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { MAX_FRAME_BYTES, encodeMessage, tickAmountMsat, type MessageOf } from '@2020117/protocol'
import { killAll, spawnBin, startTestNetwork, type Proc, type TestNetwork } from '@2020117/testkit'
import { startFakeProvider, type FakeProvider, type FakeProviderOptions, type FakeSession } from './helpers/fake-provider.js'
import { NODE_B, amountlessInvoice, expiredDevnetInvoice, signInvoice } from './helpers/invoices.js'

interface Summary {
  reason: string
  by: string
  message: string
  ticks_paid: number
  msat_paid: number
}

const PER_TICK = tickAmountMsat(5, 2) // 167 msat: 5 sats/min, 2 s ticks

let net: TestNetwork
const fakes: FakeProvider[] = []

beforeAll(async () => {
  net = await startTestNetwork()
})

afterEach(async () => {
  await killAll()
  await Promise.all(fakes.splice(0).map((f) => f.close()))
})

afterAll(async () => {
  await killAll()
  await net?.close()
})

interface Rental {
  fake: FakeProvider
  customer: Proc
  before: { customer: number; provider: number }
}

async function rent(opts: FakeProviderOptions): Promise<Rental> {
  const fake = await startFakeProvider(net, opts)
  fakes.push(fake)
  const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
  const customer = spawnBin('session', [net.flag, '--budget=500', '--port=0', '--yes', '--no-repl', '--json', `--swarm-key=${fake.swarmKey}`])
  return { fake, customer, before }
}

/**
 * The customer ended the session itself with `reason`, exited 3, printed no stack trace, and paid
 * exactly `ticksPaid` honest ticks; the ledger moved by exactly what the summary says.
 */
async function expectRefused(r: Rental, reason: string, ticksPaid: number): Promise<{ summary: Summary; session: FakeSession }> {
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  const code = await r.customer.exited
  const stderr = r.customer.stderr()
  expect({ reason: summary.reason, code }, `${summary.message}\n--- customer stderr ---\n${stderr.slice(-3000)}`).toEqual({ reason, code: 3 })
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
  expect(summary.ticks_paid).toBe(ticksPaid)
  expect(summary.msat_paid).toBe(ticksPaid * PER_TICK)
  expect(r.before.customer - net.balanceMsat('customer')).toBe(summary.msat_paid)
  expect(net.balanceMsat('provider') - r.before.provider).toBe(summary.msat_paid)

  // The scenario really ran to its end: the bad frame was sent, not skipped by a failure.
  expect(r.fake.connections.some((s) => s.start !== null)).toBe(true)
  const session = await r.fake.scenarioDone()
  await session.closed
  expect(r.fake.errors).toEqual([])
  expect(session.undecodable).toEqual([])
  return { summary, session }
}

/** A §5.4 refusal: the customer told the provider why with session_end. */
function endedWith(s: FakeSession, reason: string, ticksPaid: number): void {
  const end = s.received.find((m): m is MessageOf<'session_end'> => m.type === 'session_end')
  expect(end).toMatchObject({ by: 'customer', reason, ticksPaid, msatPaid: ticksPaid * PER_TICK })
}

/** A protocol refusal: the customer's channel sent an `error` frame with the code and closed. */
function erroredWith(s: FakeSession, code: string): void {
  const err = s.received.find((m): m is MessageOf<'error'> => m.type === 'error')
  expect(err?.code).toBe(code)
}

test('control: the honest fake provider is paid for 2 ticks, then Ctrl-C ends the session CUSTOMER_QUIT', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      const inv1 = await s.invoice()
      await s.at(2000)
      s.tick(1, inv1)
      await s.paid(1)
    }
  })
  await r.customer.line(/tunnel open: http:\/\/127\.0\.0\.1:\d+/)
  await r.fake.scenarioDone()
  await r.customer.line(/paid tick 1/)
  r.customer.kill('SIGINT')
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  expect(await r.customer.exited).toBe(0)
  expect(summary).toMatchObject({ reason: 'CUSTOMER_QUIT', by: 'customer', ticks_paid: 2, msat_paid: 2 * PER_TICK })
  expect(summary.msat_paid).toBe(334)
  expect(r.before.customer - net.balanceMsat('customer')).toBe(334)
  expect(net.balanceMsat('provider') - r.before.provider).toBe(334)
  const s = await r.fake.session()
  await s.closed
  endedWith(s, 'CUSTOMER_QUIT', 2)
  expect(r.fake.errors).toEqual([])
})

test('an inflated tick (amountMsat and invoice both twice the price) is refused: INVOICE_AMOUNT_MISMATCH, nothing paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.badTick(0, await s.invoice(2 * PER_TICK), { amountMsat: 2 * PER_TICK })
    }
  })
  const { session } = await expectRefused(r, 'INVOICE_AMOUNT_MISMATCH', 0)
  endedWith(session, 'INVOICE_AMOUNT_MISMATCH', 0)
})

test('a tick whose amountMsat is right but whose invoice asks for more is refused: INVOICE_AMOUNT_MISMATCH, nothing paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.badTick(0, await s.invoice(PER_TICK + 1000))
    }
  })
  const { session } = await expectRefused(r, 'INVOICE_AMOUNT_MISMATCH', 0)
  endedWith(session, 'INVOICE_AMOUNT_MISMATCH', 0)
})

test.each([
  ['an amountless', false],
  ['a zero-amount', true]
])('%s invoice is refused: INVOICE_AMOUNT_MISMATCH, nothing paid', async (_label, zero) => {
  const r = await rent({
    scenario: (s) => {
      s.badTick(0, amountlessInvoice({ zero }))
    }
  })
  const { session } = await expectRefused(r, 'INVOICE_AMOUNT_MISMATCH', 0)
  endedWith(session, 'INVOICE_AMOUNT_MISMATCH', 0)
})

test('an expired invoice is refused: INVOICE_EXPIRED, nothing paid', async () => {
  const expired = await expiredDevnetInvoice(net, PER_TICK)
  const r = await rent({
    scenario: (s) => {
      s.badTick(0, expired)
    }
  })
  const { session } = await expectRefused(r, 'INVOICE_EXPIRED', 0)
  endedWith(session, 'INVOICE_EXPIRED', 0)
})

test('an invoice that expires before a payment could complete (still payable when sent) is refused: INVOICE_EXPIRED, nothing paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      const inv = await s.invoice(PER_TICK, { expirySecs: 2 })
      // Still payable: without the expiry check the customer's wallet would pay it.
      expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: inv.paymentHash }).state).toBe('pending')
      s.badTick(0, inv)
    }
  })
  const { session } = await expectRefused(r, 'INVOICE_EXPIRED', 0)
  endedWith(session, 'INVOICE_EXPIRED', 0)
})

test('an invoice for bitcoin mainnet (lnbc…) on a regtest session is refused: INVOICE_NETWORK_MISMATCH, nothing paid', async () => {
  const r = await rent({
    scenario: (s) => {
      const inv = signInvoice({ amountMsat: PER_TICK, network: 'bitcoin' })
      expect(inv.bolt11.startsWith('lnbc') && !inv.bolt11.startsWith('lnbcrt')).toBe(true)
      s.badTick(0, inv)
    }
  })
  const { session } = await expectRefused(r, 'INVOICE_NETWORK_MISMATCH', 0)
  endedWith(session, 'INVOICE_NETWORK_MISMATCH', 0)
})

test('tick 1 reusing tick 0\'s invoice is refused: INVOICE_HASH_REUSED, exactly one tick paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      const inv0 = await s.invoice()
      s.tick(0, inv0)
      await s.paid(0)
      await s.at(2000)
      s.badTick(1, inv0)
    }
  })
  const { session } = await expectRefused(r, 'INVOICE_HASH_REUSED', 1)
  endedWith(session, 'INVOICE_HASH_REUSED', 1)
})

test('tick 1 payable to another node key is refused: INVOICE_PAYEE_CHANGED, exactly one tick paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      await s.at(2000)
      s.badTick(1, signInvoice({ amountMsat: PER_TICK, key: NODE_B }))
    }
  })
  const { session } = await expectRefused(r, 'INVOICE_PAYEE_CHANGED', 1)
  endedWith(session, 'INVOICE_PAYEE_CHANGED', 1)
})

test('tick 1 sent right after tick 0 is paid, long before t = 2 s, is refused: TICK_TOO_EARLY, exactly one tick paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      // A payable invoice, correct in every way but its timing.
      s.badTick(1, await s.invoice())
    }
  })
  const { session } = await expectRefused(r, 'TICK_TOO_EARLY', 1)
  endedWith(session, 'TICK_TOO_EARLY', 1)
})

test('a tick with seq 2 first is refused by the channel: UNEXPECTED_MESSAGE, nothing paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.badTick(2, await s.invoice())
    }
  })
  const { session } = await expectRefused(r, 'UNEXPECTED_MESSAGE', 0)
  erroredWith(session, 'UNEXPECTED_MESSAGE')
})

test('tick 0 billing the wrong period is refused: TICK_OUT_OF_ORDER, nothing paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.badTick(0, await s.invoice(), { periodStart: 2, periodEnd: 4 })
    }
  })
  const { session } = await expectRefused(r, 'TICK_OUT_OF_ORDER', 0)
  endedWith(session, 'TICK_OUT_OF_ORDER', 0)
})

test('a tick for an unknown session id is refused: UNKNOWN_SESSION, nothing paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.badTick(0, await s.invoice(), { sessionId: randomBytes(16) })
    }
  })
  const { session } = await expectRefused(r, 'UNKNOWN_SESSION', 0)
  erroredWith(session, 'UNKNOWN_SESSION')
})

test('a session_ack at 50 sats/min after an offer of 5 is refused: PRICE_MISMATCH, nothing paid', async () => {
  const price = 50
  const r = await rent({
    ackSatsPerMinute: price,
    scenario: async (s) => {
      // The bill that would follow at the acked price, payable by the customer's wallet.
      const amount = tickAmountMsat(price, 2)
      const inv = await s.invoice(amount)
      if (!s.isClosed) s.badTick(0, inv, { amountMsat: amount })
    }
  })
  const { session } = await expectRefused(r, 'PRICE_MISMATCH', 0)
  endedWith(session, 'PRICE_MISMATCH', 0)
})

test('a frame over 128 KiB is refused before decoding: FRAME_TOO_LARGE, nothing paid, no crash', async () => {
  const r = await rent({
    scenario: async (s) => {
      // An honest, payable tick 0 followed by padding: without the size check it would decode as a
      // tick with trailing bytes (DECODE_ERROR), not FRAME_TOO_LARGE.
      const inv = await s.invoice()
      const tick = encodeMessage({ type: 'tick', sessionId: s.sessionId, seq: 0, amountMsat: PER_TICK, bolt11: inv.bolt11, periodStart: 0, periodEnd: 2 })
      const frame = Buffer.concat([tick, Buffer.alloc(MAX_FRAME_BYTES)])
      expect(frame.byteLength).toBeGreaterThan(MAX_FRAME_BYTES)
      s.sendFrame(frame)
    }
  })
  const { session } = await expectRefused(r, 'FRAME_TOO_LARGE', 0)
  erroredWith(session, 'FRAME_TOO_LARGE')
})

test('a provider that stalls in the middle of a frame is detected as a dead link: the customer gives up, pays nothing more, and says why', async () => {
  const r = await rent({
    graceSeconds: 2,
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      // Half a frame on the encrypted stream (a length prefix promising 255 bytes, then 3), and
      // silence after it: no more keepalives either.
      s.conn.setKeepAlive?.(0)
      ;(s.conn as unknown as { rawStream: { write(b: Uint8Array): void } }).rawStream.write(Buffer.from([0xff, 0x00, 0x00, 1, 2, 3]))
    }
  })
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  expect(await r.customer.exited).toBe(3)
  // The link was declared dead, a resume was tried (the fake does not answer it), and the session
  // ended with the one honest tick paid and nothing after it.
  expect(r.customer.stderr()).toMatch(/connection to the provider lost: resuming/)
  expect(summary).toMatchObject({ reason: 'PROVIDER_GONE', ticks_paid: 1, msat_paid: PER_TICK })
  expect(r.before.customer - net.balanceMsat('customer')).toBe(PER_TICK)
  expect(r.customer.stderr()).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
}, 60_000)
