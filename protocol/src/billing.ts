import { MAX_SATS_PER_MINUTE, MAX_TICK_SECONDS, MIN_TICK_SECONDS } from './constants.js'
import { ProtocolError } from './errors.js'

/**
 * The one rule for what a tick costs (SPEC §5): the price of `tickSeconds` at `satsPerMinute`,
 * in msat, rounded up to the next whole msat. Both sides compute it; a tick whose amountMsat
 * differs by even one msat is refused by the customer.
 *
 *   amountMsat = ceil(satsPerMinute * 1000 * tickSeconds / 60)
 *
 * All operands are integers below 2^53 / 60, so the integer arithmetic below is exact.
 */
export function tickAmountMsat(satsPerMinute: number, tickSeconds: number): number {
  if (!Number.isInteger(satsPerMinute) || satsPerMinute < 0 || satsPerMinute > MAX_SATS_PER_MINUTE) {
    throw ProtocolError.INVALID_VALUE('satsPerMinute', `must be an integer in [0, ${MAX_SATS_PER_MINUTE}]`)
  }
  if (!Number.isInteger(tickSeconds) || tickSeconds < MIN_TICK_SECONDS || tickSeconds > MAX_TICK_SECONDS) {
    throw ProtocolError.INVALID_VALUE('tickSeconds', `must be an integer in [${MIN_TICK_SECONDS}, ${MAX_TICK_SECONDS}]`)
  }
  const numerator = satsPerMinute * 1000 * tickSeconds
  return Math.floor((numerator + 59) / 60)
}

/**
 * How early, in ms, a tick may arrive before the start of the period it pays for and still be
 * accepted: timers and the link jitter, but a provider must not bill a period before it begins.
 */
export function earlyToleranceMs(tickSeconds: number): number {
  return Math.min(1000, Math.floor((tickSeconds * 1000) / 10))
}

/** The earliest moment (ms after session_ack) at which tick `seq` may be sent. */
export function tickDueMs(seq: number, tickSeconds: number): number {
  return seq * tickSeconds * 1000
}
