// Who may start a session, and how often (SPEC §5.3 first payment, §6 admission). Peers are
// strangers: one that floods session_start, or takes slots and never pays, must cost itself and
// not the honest customers.
//
// Invariants:
// - Every session_start counts against its connection and its remote key (RATE_LIMITED beyond).
//   The global rate is one of first invoices, not of admissions: an admitted session (there is a
//   slot) waits in a FIFO queue for its turn, and one that ends while queued costs nothing. Keys are
//   free, so a stranger under fresh keys can only make an honest customer wait, at most about one
//   window behind it, never refuse it.
// - A key whose session ended with nothing paid (the provider ended it for non-payment) is backed
//   off, for longer each time it does so again.
// - All state is bounded: connections are weak keys, remote keys at most MAX_TRACKED_KEYS (oldest
//   forgotten first), and each window holds at most twice its limit.

/** Session starts one connection may send per 10 s. */
export const STARTS_PER_CONNECTION = 4
/** Session starts one remote key may send per 10 s, over all its connections. */
export const STARTS_PER_KEY = 6
/** First invoices made per 10 s, for all sessions together: each costs the wallet a make_invoice. */
export const ADMITTED_PER_WINDOW = 40
const WINDOW_MS = 10_000
/** The first backoff of a key that left a session unpaid; it doubles with each further one. */
export const UNPAID_BACKOFF_MS = 20_000
const MAX_BACKOFF_MS = 3_600_000
/** A key's strikes are forgotten after this long without a new one. */
const STRIKE_MEMORY_MS = 3_600_000
const MAX_TRACKED_KEYS = 4096

export interface Refusal {
  message: string
  /** The connection kept starting after being told to stop: hang up on it. */
  hangUp: boolean
}

export interface InvoiceTurn {
  ready: Promise<boolean>
  cancel(): void
}

interface KeyRecord {
  starts: number[]
  strikes: number
  lastStrike: number
  blockedUntil: number
}

export class Admission {
  private readonly perConnection = new WeakMap<object, number[]>()
  private readonly keys = new Map<string, KeyRecord>()
  /** When the first invoices of the last 10 s were granted: at most ADMITTED_PER_WINDOW. */
  private readonly admitted: number[] = []
  /** Sessions waiting for their first invoice, oldest first; each holds a slot, so --max-sessions bounds it. */
  private readonly waiting: Array<(granted: boolean) => void> = []
  private drainTimer: NodeJS.Timeout | null = null

  /** Counts one session_start on `conn` from `key`; null if it may go on to the provider's checks. */
  start(conn: object, key: string, now = Date.now()): Refusal | null {
    let mine = this.perConnection.get(conn)
    if (!mine) this.perConnection.set(conn, (mine = []))
    const onConn = count(mine, now, STARTS_PER_CONNECTION)
    const record = this.record(key, now)
    const onKey = count(record.starts, now, STARTS_PER_KEY)
    if (onConn > STARTS_PER_CONNECTION || onKey > STARTS_PER_KEY) {
      return {
        message: 'too many session starts from you: wait 10 s before trying again',
        hangUp: onConn >= 2 * STARTS_PER_CONNECTION
      }
    }
    if (now < record.blockedUntil) {
      const wait = Math.ceil((record.blockedUntil - now) / 1000)
      const what = record.strikes > 1 ? `last ${record.strikes} sessions` : 'last session'
      return { message: `your ${what} ended unpaid: try again in ${wait} s, and pay the first tick`, hangUp: false }
    }
    return null
  }

  /**
   * A place in the FIFO queue for one first invoice of the global rate. `ready` resolves true when it
   * is this session's turn (at once while the rate has room), false if `cancel` came first: a session
   * that ends while queued leaves without costing an invoice, and nobody can jump the queue.
   */
  invoiceTurn(): InvoiceTurn {
    let resolve: (granted: boolean) => void = () => {}
    const ready = new Promise<boolean>((r) => (resolve = r))
    const waiter = (granted: boolean) => resolve(granted)
    this.waiting.push(waiter)
    this.drain()
    const cancel = () => {
      const i = this.waiting.indexOf(waiter)
      if (i < 0) return
      this.waiting.splice(i, 1)
      resolve(false)
    }
    return { ready, cancel }
  }

  /** How many sessions wait for their first invoice. */
  get queued(): number {
    return this.waiting.length
  }

  /** Grants the turns the rate has room for, oldest first, and wakes up when the window frees the next. */
  private drain(): void {
    const now = Date.now()
    prune(this.admitted, now)
    while (this.waiting.length && this.admitted.length < ADMITTED_PER_WINDOW) {
      this.admitted.push(now)
      ;(this.waiting.shift() as (granted: boolean) => void)(true)
    }
    if (!this.waiting.length || this.drainTimer) return
    const at = (this.admitted[0] as number) + WINDOW_MS
    this.drainTimer = setTimeout(() => ((this.drainTimer = null), this.drain()), Math.max(0, at - now))
    this.drainTimer.unref()
  }

  /** A session of `key` ended with nothing paid because it did not pay: back the key off. */
  unpaid(key: string, now = Date.now()): void {
    const record = this.record(key, now)
    if (now - record.lastStrike > STRIKE_MEMORY_MS) record.strikes = 0
    record.strikes++
    record.lastStrike = now
    record.blockedUntil = now + Math.min(MAX_BACKOFF_MS, UNPAID_BACKOFF_MS * 2 ** (record.strikes - 1))
  }

  /** A session of `key` paid: it is a customer, not a squatter. */
  paid(key: string): void {
    const record = this.keys.get(key)
    if (record) record.strikes = 0
  }

  private record(key: string, now: number): KeyRecord {
    let record = this.keys.get(key)
    if (record) {
      // Most recently seen last, so that the oldest is the one forgotten.
      this.keys.delete(key)
    } else {
      record = { starts: [], strikes: 0, lastStrike: 0, blockedUntil: 0 }
      if (this.keys.size >= MAX_TRACKED_KEYS) this.forgetOldest(now)
    }
    this.keys.set(key, record)
    return record
  }

  /** Forgets the least recently seen key, preferring one that is not backed off. */
  private forgetOldest(now: number): void {
    let victim: string | undefined
    for (const [key, r] of this.keys) {
      victim ??= key
      if (r.blockedUntil <= now) {
        victim = key
        break
      }
    }
    if (victim !== undefined) this.keys.delete(victim)
  }
}

/** Records `now` in a window (which keeps at most twice `limit` stamps) and returns how many it holds. */
function count(stamps: number[], now: number, limit: number): number {
  prune(stamps, now)
  if (stamps.length < 2 * limit) stamps.push(now)
  return stamps.length
}

function prune(stamps: number[], now: number): void {
  while (stamps.length && now - (stamps[0] as number) >= WINDOW_MS) stamps.shift()
}
