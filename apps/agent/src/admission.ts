// Who may start a session, and how often (SPEC §5.3 first payment, §6 admission). Peers are
// strangers: one that floods session_start, or takes slots and never pays, must cost itself and
// not the honest customers.
//
// Invariants:
// - Every session_start counts against its connection and its remote key; only the starts the
//   provider admits (each costs an invoice from the wallet) count against the global rate. So a
//   flood of refused starts limits the flooder, never everyone.
// - A key whose session ended with nothing paid (the provider ended it for non-payment) is backed
//   off, for longer each time it does so again.
// - All state is bounded: connections are weak keys, remote keys at most MAX_TRACKED_KEYS (oldest
//   forgotten first), and each window holds at most twice its limit.

/** Session starts one connection may send per 10 s. */
export const STARTS_PER_CONNECTION = 4
/** Session starts one remote key may send per 10 s, over all its connections. */
export const STARTS_PER_KEY = 6
/** Sessions admitted per 10 s, from all peers together: each costs the wallet an invoice. */
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

interface KeyRecord {
  starts: number[]
  strikes: number
  lastStrike: number
  blockedUntil: number
}

export class Admission {
  private readonly perConnection = new WeakMap<object, number[]>()
  private readonly keys = new Map<string, KeyRecord>()
  private readonly admitted: number[] = []

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

  /** Counts a session about to be admitted against the global rate; false if the rate is spent. */
  admit(now = Date.now()): boolean {
    prune(this.admitted, now)
    if (this.admitted.length >= ADMITTED_PER_WINDOW) return false
    this.admitted.push(now)
    return true
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
