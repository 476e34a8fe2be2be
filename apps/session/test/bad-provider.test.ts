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
//
// Every test also checks issue 10's invariant by the ledger (expectPaidWithinElapsed): whatever the
// provider does, msat paid ≤ (⌊elapsed wall time / T⌋ + 2) × the tick amount.

import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, expect, test } from 'vitest'
import {
  MAX_FRAME_BYTES,
  MAX_RESUMES_PER_MINUTE,
  encodeMessage,
  tickAmountMsat,
  type MessageOf
} from '@2020117/protocol'
import {
  NODE_B,
  amountlessInvoice,
  hintedInvoice,
  killAll,
  signInvoice,
  spawnBin,
  startTestNetwork,
  type Proc
} from '@2020117/testkit'
import {
  startFakeProvider,
  type FakeProvider,
  type FakeProviderOptions,
  type FakeSession
} from './helpers/fake-provider.js'
import { expiredDevnetInvoice } from './helpers/invoices.js'

interface Summary {
  reason: string
  by: string
  message: string
  ticks_paid: number
  msat_paid: number
  resumes: number
}

const PER_TICK = tickAmountMsat(5, 2) // 167 msat: 5 sats/min, 2 s ticks

const net = await startTestNetwork({ teardown: afterAll })
const fakes: FakeProvider[] = []

afterEach(async () => {
  await killAll()
  await Promise.all(fakes.splice(0).map((f) => f.close()))
})

interface Rental {
  fake: FakeProvider
  customer: Proc
  before: { customer: number; provider: number }
  /** The offered period and the amount of one tick at the offered price. */
  T: number
  perTick: number
}

async function rent(opts: FakeProviderOptions, budgetSats = 500): Promise<Rental> {
  const fake = await startFakeProvider(net, opts)
  fakes.push(fake)
  const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
  const customer = spawnBin('session', [
    net.flag,
    `--budget=${budgetSats}`,
    '--port=0',
    '--yes',
    '--no-repl',
    '--json',
    `--swarm-key=${fake.swarmKey}`
  ])
  return { fake, customer, before, T: fake.tickSeconds, perTick: tickAmountMsat(fake.satsPerMinute, fake.tickSeconds) }
}

/**
 * Issue 10's invariant, by the ledger, once the customer has exited: over the session, whatever the
 * provider did, msat paid ≤ (⌊elapsed wall time / T⌋ + 2) × the tick amount. Elapsed runs from the
 * fake's session_ack (no ack: nothing may be paid) to the customer's exit.
 */
async function expectPaidWithinElapsed(r: Rental): Promise<void> {
  await r.customer.exited
  const end = Date.now()
  const paid = r.before.customer - net.balanceMsat('customer')
  const acked = r.fake.connections.find((s) => s.ackedAt > 0)
  const elapsedMs = acked ? end - acked.ackedAt : 0
  const bound = acked ? (Math.floor(elapsedMs / 1000 / r.T) + 2) * r.perTick : 0
  expect(
    paid,
    `the wallet paid ${paid} msat in ${elapsedMs} ms of ${r.T} s ticks at ${r.perTick} msat`
  ).toBeLessThanOrEqual(bound)
}

/**
 * The customer ended the session itself with `reason`, exited 3, printed no stack trace, and paid
 * exactly `ticksPaid` honest ticks; the ledger moved by exactly what the summary says.
 */
async function expectRefused(
  r: Rental,
  reason: string,
  ticksPaid: number
): Promise<{ summary: Summary; session: FakeSession }> {
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  const code = await r.customer.exited
  await expectPaidWithinElapsed(r)
  const stderr = r.customer.stderr()
  expect(
    { reason: summary.reason, code },
    `${summary.message}\n--- customer stderr ---\n${stderr.slice(-3000)}`
  ).toEqual({ reason, code: 3 })
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
  expect(summary.ticks_paid).toBe(ticksPaid)
  expect(summary.msat_paid).toBe(ticksPaid * r.perTick)
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
function endedWith(s: FakeSession, reason: string, ticksPaid: number, perTick = PER_TICK): void {
  const end = s.received.find((m): m is MessageOf<'session_end'> => m.type === 'session_end')
  expect(end).toMatchObject({ by: 'customer', reason, ticksPaid, msatPaid: ticksPaid * perTick })
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
  await expectPaidWithinElapsed(r)
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

test("tick 1 reusing tick 0's invoice is refused: INVOICE_HASH_REUSED, exactly one tick paid", async () => {
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
      const tick = encodeMessage({
        type: 'tick',
        sessionId: s.sessionId,
        seq: 0,
        amountMsat: PER_TICK,
        bolt11: inv.bolt11,
        periodStart: 0,
        periodEnd: 2
      })
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
      ;(s.conn as unknown as { rawStream: { write(b: Uint8Array): void } }).rawStream.write(
        Buffer.from([0xff, 0x00, 0x00, 1, 2, 3])
      )
    }
  })
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  expect(await r.customer.exited).toBe(3)
  await expectPaidWithinElapsed(r)
  // The link was declared dead, a resume was tried (the fake does not answer it), and the session
  // ended with the one honest tick paid and nothing after it.
  expect(r.customer.stderr()).toMatch(/connection to the provider lost: resuming/)
  expect(summary).toMatchObject({ reason: 'PROVIDER_GONE', ticks_paid: 1, msat_paid: PER_TICK })
  expect(r.before.customer - net.balanceMsat('customer')).toBe(PER_TICK)
  expect(r.customer.stderr()).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m)
}, 60_000)

// ---- Issue 10: resume, acked terms, receipts, in-flight payments, fees ----

const PER_SAT_TICK = { satsPerMinute: 60, tickSeconds: 1 } // 1000 msat every second

/** The last connection's session: where a resumed session's session_end arrives. */
function lastSession(r: Rental): FakeSession {
  return r.fake.connections.at(-1) as FakeSession
}

test('a provider that drops the link and answers every resume with nextSeq 0 and a fresh invoice is refused: TICK_ALREADY_PAID, one tick paid', async () => {
  // The attack of issue 10 item 1: 1 s ticks, a 20 sat budget.
  const r = await rent(
    {
      ...PER_SAT_TICK,
      scenario: async (s) => {
        s.tick(0, await s.invoice())
        await s.paid(0)
        s.drop()
      },
      onResume: async (s) => {
        // Bounded, and ended at once, so that the drain shows in the ledger against a short session.
        if (r.fake.resumes > 10) return s.send({ type: 'session_reject', code: 'RESUME_REFUSED', message: '' })
        s.resumed({ nextSeq: 0 })
        s.tick(0, await s.invoice())
        await s.paid(0).then(
          () => s.drop(),
          () => {}
        )
      }
    },
    20
  )
  const { summary } = await expectRefused(r, 'TICK_ALREADY_PAID', 1)
  expect(summary.resumes).toBe(1)
  endedWith(lastSession(r), 'TICK_ALREADY_PAID', 1, r.perTick)
}, 60_000)

test('a resume whose nextSeq rewinds below the ticks paid is refused: RESUME_REWOUND, nothing paid again', async () => {
  const r = await rent({
    ...PER_SAT_TICK,
    scenario: async (s) => {
      for (const seq of [0, 1, 2]) {
        const inv = await s.invoice()
        await s.at(seq * 1000)
        s.tick(seq, inv)
        await s.paid(seq)
      }
      s.drop()
    },
    onResume: async (s) => {
      // Every paid period billed again, each with a fresh invoice the wallet could pay.
      s.resumed({ nextSeq: 0, paidUntil: 3 })
      for (const seq of [0, 1, 2]) {
        if (s.isClosed) return
        s.tick(seq, await s.invoice())
        await s.paid(seq).catch(() => {})
      }
      if (s.isClosed) return
      s.send({
        type: 'session_end',
        sessionId: s.sessionId,
        by: 'provider',
        reason: 'PROVIDER_SHUTDOWN',
        message: '',
        ticksPaid: 3,
        msatPaid: 3000,
        durationMs: 0
      })
      s.close()
    }
  })
  await expectRefused(r, 'RESUME_REWOUND', 3)
  endedWith(lastSession(r), 'RESUME_REWOUND', 3, r.perTick)
}, 60_000)

test(`a provider that keeps dropping the link ends PROVIDER_GONE after ${MAX_RESUMES_PER_MINUTE} resumes in a minute, paying nothing more`, async () => {
  const r = await rent({
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      s.drop()
    },
    onResume: async (s) => {
      // Honest answers, then the link drops again at once. Bounded, so that a customer without the
      // limit ends (by the fake's session_end) instead of resuming until the test times out.
      if (r.fake.resumes > 10) {
        s.send({
          type: 'session_end',
          sessionId: s.sessionId,
          by: 'provider',
          reason: 'RESUMED_TOO_OFTEN',
          message: '',
          ticksPaid: 1,
          msatPaid: PER_TICK,
          durationMs: 0
        })
        return s.close()
      }
      // tick 0 re-sent with its own invoice: acknowledged, not paid, and proof that the customer
      // took the resume before the link drops again.
      const first = r.fake.connections[0] as FakeSession
      s.resumed({ nextSeq: 0, paidUntil: 2 })
      s.tick(0, first.sentTicks[0] as { bolt11: string; paymentHash: string | null })
      return s.paid(0).then(
        () => s.drop(),
        () => {}
      )
    }
  })
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  expect(await r.customer.exited).toBe(3)
  await expectPaidWithinElapsed(r)
  expect(summary).toMatchObject({
    reason: 'PROVIDER_GONE',
    resumes: MAX_RESUMES_PER_MINUTE,
    ticks_paid: 1,
    msat_paid: PER_TICK
  })
  expect(r.before.customer - net.balanceMsat('customer')).toBe(PER_TICK)
  expect(r.customer.stderr()).toMatch(/dropped .* times/)
}, 60_000)

test('a provider whose channel never opens on the resume connection does not wedge the customer: PROVIDER_GONE within the resume deadline', async () => {
  const r = await rent({
    graceSeconds: 2,
    channelsOpened: 1,
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      s.drop()
    }
  })
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  expect(await r.customer.exited).toBe(3)
  await expectPaidWithinElapsed(r)
  expect(summary).toMatchObject({ reason: 'PROVIDER_GONE', resumes: 0, ticks_paid: 1, msat_paid: PER_TICK })
  // The customer really dialled again and got a connection that never opened a channel.
  expect(r.fake.connections.length).toBeGreaterThanOrEqual(2)
  expect(summary.message).toMatch(/could not resume within 4 s/)
}, 60_000)

test('a session_ack with a 3600 s period after an offer of 2 s is refused: TERMS_MISMATCH, nothing paid', async () => {
  const r = await rent({
    ackTickSeconds: 3600,
    scenario: async (s) => {
      // The bill for the acked hour, payable by the customer's wallet (300 sats of a 500 budget).
      const amount = tickAmountMsat(5, 3600)
      const inv = await s.invoice(amount)
      if (!s.isClosed) s.badTick(0, inv, { amountMsat: amount, periodEnd: 3600 })
    }
  })
  const { session } = await expectRefused(r, 'TERMS_MISMATCH', 0)
  endedWith(session, 'TERMS_MISMATCH', 0)
})

test('a session_ack at a lower price than offered (4 sats/min after 5) is refused: PRICE_MISMATCH, nothing paid', async () => {
  const r = await rent({
    ackSatsPerMinute: 4,
    scenario: async (s) => {
      const amount = tickAmountMsat(4, 2)
      const inv = await s.invoice(amount)
      if (!s.isClosed) s.badTick(0, inv, { amountMsat: amount })
    }
  })
  const { session } = await expectRefused(r, 'PRICE_MISMATCH', 0)
  endedWith(session, 'PRICE_MISMATCH', 0)
})

test("a session_ack with a grace above the customer's bound (3600 s) is refused: TERMS_MISMATCH, nothing paid", async () => {
  const r = await rent({
    ackGraceSeconds: 3600,
    scenario: async (s) => {
      const inv = await s.invoice()
      if (!s.isClosed) s.badTick(0, inv)
    }
  })
  const { session } = await expectRefused(r, 'TERMS_MISMATCH', 0)
  endedWith(session, 'TERMS_MISMATCH', 0)
})

test('a session_resumed whose terms differ from the ack (3600 s period) is refused: TERMS_MISMATCH, one tick paid', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      s.drop()
    },
    onResume: async (s) => {
      s.resumed({ nextSeq: 1, paidUntil: 2, tickSeconds: 3600 })
      const inv = await s.invoice()
      await s.at(2000)
      if (!s.isClosed) s.badTick(1, inv)
    }
  })
  await expectRefused(r, 'TERMS_MISMATCH', 1)
  endedWith(lastSession(r), 'TERMS_MISMATCH', 1)
}, 60_000)

test('a provider that never sends a tick_receipt is paid 2 ticks, not a third: NO_RECEIPT', async () => {
  const r = await rent({
    receipts: false,
    scenario: async (s) => {
      for (const seq of [0, 1, 2]) {
        const inv = await s.invoice()
        await s.at(seq * 2000)
        if (s.isClosed) return
        if (seq < 2) s.tick(seq, inv)
        else s.badTick(seq, inv)
        if (seq < 2) await s.paid(seq)
      }
    }
  })
  const { session } = await expectRefused(r, 'NO_RECEIPT', 2)
  endedWith(session, 'NO_RECEIPT', 2)
})

test('a provider that ends the session while a payment is in flight: the customer settles it first, and the summary equals the ledger', async () => {
  const r = await rent({
    scenario: async (s) => {
      s.tick(0, await s.invoice())
      await s.paid(0)
      const inv = await s.invoice()
      await s.at(2000)
      // session_end leaves the moment the customer's pay_invoice reaches the wallet: before it
      // is settled, and long before the customer hears back.
      const inFlight = new Promise<void>((resolve) => {
        const onrequest = (e: { account: string; method: string }) => {
          if (e.account !== 'customer' || e.method !== 'pay_invoice') return
          net.devnet.wallet.off('request', onrequest)
          s.send({
            type: 'session_end',
            sessionId: s.sessionId,
            by: 'provider',
            reason: 'PROVIDER_SHUTDOWN',
            message: 'bye',
            ticksPaid: 1,
            msatPaid: PER_TICK,
            durationMs: Date.now() - s.ackedAt
          })
          s.close()
          resolve()
        }
        net.devnet.wallet.on('request', onrequest)
      })
      s.tick(1, inv)
      await inFlight
    }
  })
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  expect(await r.customer.exited).toBe(3)
  await expectPaidWithinElapsed(r)
  await r.fake.scenarioDone()
  expect(summary).toMatchObject({ reason: 'PROVIDER_SHUTDOWN', by: 'provider' })
  const paid = r.before.customer - net.balanceMsat('customer')
  expect(paid).toBe(2 * PER_TICK)
  expect({ ticks: summary.ticks_paid, msat: summary.msat_paid }).toEqual({ ticks: 2, msat: paid })
}, 60_000)

test('an invoice whose route hint charges 10,000 sat in fees is refused: FEE_TOO_HIGH, nothing paid', async () => {
  const r = await rent({
    scenario: (s) => {
      s.badTick(0, hintedInvoice(PER_TICK, 10_000_000))
    }
  })
  const { session } = await expectRefused(r, 'FEE_TOO_HIGH', 0)
  endedWith(session, 'FEE_TOO_HIGH', 0)
})

test('a provider that bills late: a request made past paidUntil + grace waits for the next receipt instead of failing, and is then served', async () => {
  // Defence: the customer opens no stream its own clock says the provider would refuse (paidUntil +
  // grace, less a margin), and requests wait for the next tick_receipt. Without it the stream goes
  // out at once, the provider resets it PAYMENT_REQUIRED, and the browser gets a 502.
  const T = 2
  const G = 3
  let pastGrace!: () => void
  const late = new Promise<void>((r) => (pastGrace = r))
  const opens: Array<{ streamId: number; afterReceipt: boolean }> = []
  const r = await rent({
    graceSeconds: G,
    scenario: async (s) => {
      let receipted = false
      s.tick(0, await s.invoice())
      await s.paid(0)
      // The agent's gate: streams opened past paidUntil + grace before the next payment are refused.
      const served = (async () => {
        for (;;) {
          const open = await s
            .next('stream_open', (o) => !opens.some((seen) => seen.streamId === o.streamId))
            .catch(() => null)
          if (!open) return
          opens.push({ streamId: open.streamId, afterReceipt: receipted })
          if (!receipted) {
            s.send({ type: 'stream_reset', streamId: open.streamId, code: 'PAYMENT_REQUIRED', message: 'not paid' })
            continue
          }
          await s.next('stream_data', (d) => d.streamId === open.streamId)
          const body = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok'
          s.send({ type: 'stream_data', streamId: open.streamId, data: Buffer.from(body) })
        }
      })()
      await s.at((T + G) * 1000 + 200)
      pastGrace()
      // A provider whose billing runs late (a busy machine): tick 1 comes after the cut-off, and
      // tick 2 right behind it, as the agent catches up.
      const inv1 = await s.invoice()
      await s.at((T + G) * 1000 + 500)
      s.tick(1, inv1)
      await s.paid(1)
      receipted = true
      s.tick(2, await s.invoice())
      await s.paid(2)
      void served
    }
  })
  const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(await r.customer.line(/tunnel open: http:\/\/127\.0\.0\.1:\d+/))![1]
  await late
  const res = await fetch(`${url}/late`)
  expect(res.status).toBe(200)
  expect(await res.text()).toBe('ok')
  expect(opens.length).toBeGreaterThan(0)
  expect(opens.every((o) => o.afterReceipt)).toBe(true)
  await r.fake.scenarioDone()
  r.customer.kill('SIGINT')
  const summary = await r.customer.json<Summary>((s) => 'reason' in s)
  expect(summary).toMatchObject({ reason: 'CUSTOMER_QUIT', ticks_paid: 3, msat_paid: 3 * PER_TICK })
  expect(r.before.customer - net.balanceMsat('customer')).toBe(3 * PER_TICK)
  await expectPaidWithinElapsed(r)
}, 30_000)
