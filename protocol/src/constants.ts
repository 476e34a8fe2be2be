// Every bound here is part of the wire contract (protocol/SPEC.md §3). Changing one is a wire change.

import type { PaymentMethod } from './reasons.js'

export const PROTOCOL_NAME = '2020117/session'
export const PROTOCOL_VERSION = 1

/** The largest frame a peer may send; anything larger is refused before it is decoded. */
export const MAX_FRAME_BYTES = 128 * 1024

export const MAX_SOFTWARE_BYTES = 64
export const MAX_CODE_BYTES = 64
export const MAX_TEXT_BYTES = 1024
export const MAX_MANIFEST_BYTES = 16 * 1024
export const MAX_IDENTITY_BYTES = 4096
export const MAX_BOLT11_BYTES = 4096
export const MAX_OFFERS = 32
export const MAX_PAYMENT_METHODS = 8
export const MAX_PAYMENT_METHOD_BYTES = 32

export const MAX_KIND = 65535
export const MAX_SATS_PER_MINUTE = 100_000_000
export const MIN_TICK_SECONDS = 1
export const MAX_TICK_SECONDS = 3600
export const MAX_GRACE_SECONDS = 3600
/** 21 million BTC in sats: no budget can be larger. */
export const MAX_BUDGET_SATS = 2_100_000_000_000_000
export const MAX_MSAT = Number.MAX_SAFE_INTEGER
export const MAX_SEQ = 0xffffffff
export const MAX_SESSIONS_FIELD = 65535
export const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER
export const MAX_SECONDS = 0xffffffff

/** A provider may bill ahead, but never more than this many unpaid ticks at once. */
export const MAX_OUTSTANDING_TICKS = 2
/**
 * Tick 0 unpaid this long after session_ack (and no tick_ack for it received) ends the session
 * FIRST_PAYMENT_TIMEOUT, when that is sooner than the grace rule's 2G (SPEC §5.3): a session that
 * never pays must not hold a slot for long.
 */
export const FIRST_PAYMENT_SECONDS = 20

export const SESSION_ID_BYTES = 16
export const SECRET_BYTES = 32
export const PREIMAGE_BYTES = 32
export const PUBKEY_BYTES = 32

/** The largest payload of one stream_data frame. */
export const MAX_STREAM_CHUNK = 64 * 1024
/** Bytes each side may send on a new stream before the first stream_credit (SPEC §4.3). */
export const STREAM_INITIAL_WINDOW = 256 * 1024
/** The most credit a receiver may have outstanding on one stream. */
export const MAX_STREAM_WINDOW = 4 * 1024 * 1024
/**
 * Reference implementation, not the wire: the receive window a stream grows to, doubling from
 * STREAM_INITIAL_WINDOW, while its consumer keeps up (a bulk download is then not held back by
 * credit round trips), and the window bytes above STREAM_INITIAL_WINDOW that all the streams of one
 * tunnel may hold at once, so that memory per session stays bounded.
 */
export const STREAM_AUTO_WINDOW = 2 * 1024 * 1024
export const TUNNEL_WINDOW_BUDGET = 16 * 1024 * 1024
/** Streams open at once in one session; beyond it stream_open is answered with stream_reset. */
export const MAX_OPEN_STREAMS = 256
export const MAX_STREAM_ID = 0xffffffff

/** Payment method names carried in skill_response.paymentMethods and session_start.paymentMethod. */
export const PAYMENT_BOLT11 = 'bolt11' satisfies PaymentMethod
export const PAYMENT_FREE = 'free' satisfies PaymentMethod

/**
 * A customer resumes one session at most this many times in all, and this many times in any 60 s
 * (SPEC §5.5); a provider whose link keeps dropping past either bound is treated as gone.
 */
export const MAX_RESUMES_PER_SESSION = 20
export const MAX_RESUMES_PER_MINUTE = 3
/**
 * The largest grace a customer accepts in session_ack (SPEC §5.4). skill_response carries no grace,
 * so there is no offer to compare with; the grace bounds how long the customer waits for a resume
 * (2 × G) and retries a payment through a wallet outage, so it may not be unbounded.
 */
export const MAX_ACCEPTED_GRACE_SECONDS = 600
/** Payments a customer makes without any tick_receipt before it stops paying (SPEC §5.4). */
export const MAX_UNRECEIPTED_PAYMENTS = 2
