// The admission rules of SPEC §5.3.2 as a pure object (apps/agent/src/admission.ts), with the clock
// passed in: windows per connection and per key, the global rate of first invoices (a FIFO queue),
// the doubling backoff of a key that leaves sessions unpaid, and bounded state. The end-to-end
// checks through the real agent are admission-rate-limit.test.ts and admission-first-payment.test.ts.

import { expect, test, vi } from 'vitest'
import {
  ADMITTED_PER_WINDOW,
  Admission,
  STARTS_PER_CONNECTION,
  STARTS_PER_KEY,
  UNPAID_BACKOFF_MS
} from '../src/admission.js'

test('a connection gets STARTS_PER_CONNECTION starts per 10 s, then RATE_LIMITED, and is hung up on at twice that', () => {
  const a = new Admission()
  const conn = {}
  const answers = Array.from({ length: 2 * STARTS_PER_CONNECTION }, (_, i) => a.start(conn, 'k', 1000 + i))
  expect(answers.slice(0, STARTS_PER_CONNECTION)).toEqual(Array(STARTS_PER_CONNECTION).fill(null))
  expect(answers.slice(STARTS_PER_CONNECTION).every((r) => r !== null)).toBe(true)
  expect(answers.map((r) => r?.hangUp ?? false).lastIndexOf(false)).toBe(2 * STARTS_PER_CONNECTION - 2)
  // Another connection under another key is not affected; the window slides.
  expect(a.start({}, 'other', 1100)).toBeNull()
  expect(a.start(conn, 'k', 1000 + 10_000 + 2 * STARTS_PER_CONNECTION)).toBeNull()
})

test('a key gets STARTS_PER_KEY starts per 10 s over all its connections', () => {
  const a = new Admission()
  const answers = Array.from({ length: STARTS_PER_KEY + 1 }, (_, i) => a.start({}, 'k', 1000 + i))
  expect(answers.slice(0, STARTS_PER_KEY)).toEqual(Array(STARTS_PER_KEY).fill(null))
  expect(answers[STARTS_PER_KEY]?.message).toMatch(/too many session starts/)
})

test('only first invoices use the global rate: beyond it they wait their turn, first come first served, and a cancelled turn costs nothing', async () => {
  vi.useFakeTimers()
  try {
    const a = new Admission()
    for (let i = 0; i < 1000; i++) a.start({}, `refused-${i}`, Date.now())
    const granted: string[] = []
    const turn = (name: string) => {
      const t = a.invoiceTurn()
      void t.ready.then((ok) => ok && granted.push(name))
      return t
    }
    for (let i = 0; i < ADMITTED_PER_WINDOW; i++) turn(`first-${i}`)
    const quitter = turn('quitter')
    turn('honest')
    await vi.advanceTimersByTimeAsync(0)
    expect(granted.length).toBe(ADMITTED_PER_WINDOW)
    expect(a.queued).toBe(2)
    quitter.cancel()
    expect(await quitter.ready).toBe(false)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(granted.slice(ADMITTED_PER_WINDOW)).toEqual(['honest'])
    expect(a.queued).toBe(0)
  } finally {
    vi.useRealTimers()
  }
})

test('a key that leaves sessions unpaid is backed off, twice as long each time; paying clears it', () => {
  const a = new Admission()
  let now = 1_000_000
  a.unpaid('k', now)
  expect(a.start({}, 'k', now + UNPAID_BACKOFF_MS - 1)?.message).toMatch(/ended unpaid: try again in 1 s/)
  expect(a.start({}, 'k', (now += UNPAID_BACKOFF_MS))).toBeNull()
  a.unpaid('k', now)
  expect(a.start({}, 'k', now + 2 * UNPAID_BACKOFF_MS - 1)?.message).toMatch(/last 2 sessions ended unpaid/)
  expect(a.start({}, 'k', (now += 2 * UNPAID_BACKOFF_MS))).toBeNull()
  a.paid('k')
  a.unpaid('k', (now += 1))
  expect(a.start({}, 'k', now + UNPAID_BACKOFF_MS)).toBeNull()
  expect(a.start({}, 'other', now)).toBeNull()
})

test('per-key state is bounded: a flood of fresh keys forgets the oldest, but keeps a backed-off key', () => {
  const a = new Admission()
  a.unpaid('squatter', 1000)
  for (let i = 0; i < 10_000; i++) a.start({}, `fresh-${i}`, 1000)
  expect(a.start({}, 'squatter', 2000)?.message).toMatch(/ended unpaid/)
})
