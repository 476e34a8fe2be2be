// NIP-57 Appendix F: when a zap receipt (kind 9735) may count toward a provider's reputation.
// Invariants: every check runs on events from strangers, so every length is bounded before it is
// read and every signature is verified on a fresh copy; the amount counted is the invoice's, never
// the one the sender wrote; a receipt is still not proof of payment (NIP-57 says so), only proof
// that the recipient's own LNURL server says it was paid.

import { createHash } from 'node:crypto'
import { decodeInvoice, isWalletError, type DecodedInvoice, type NetworkName } from '@2020117/wallet'
import { kinds } from '@2020117/protocol'
import { verifyEvent, type Event } from 'nostr-tools/pure'
import { ZapError } from './errors.js'

/** A zap request is a small event; 64 KiB is far above any honest one and bounds the JSON parse. */
export const MAX_DESCRIPTION_BYTES = 64 * 1024
/** Real receipts carry about six tags and zap requests about six plus relays. */
export const MAX_ZAP_TAGS = 100

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/
const MSAT = /^(0|[1-9][0-9]{0,18})$/

export interface ZapExpectation {
  /** The provider the zap is counted for (hex pubkey). */
  recipient: string
  /** The `nostrPubkey` of the recipient's LNURL server (see lnurlNostrPubkey). */
  lnurlNostrPubkey: string
}

export interface ValidZap {
  receiptId: string
  paymentHash: string
  /** The invoice's amount: the one counted. */
  amountMsat: number
  network: NetworkName
  /** The zap request's author. */
  sender: string
  zapRequestId: string
  /** The zapped event (`e`), or null for a zap of the profile. */
  eventId: string | null
  /**
   * Whether the sender's signed zap request named the amount (`amount`, equal to the invoice's).
   * Without it the recipient's server chose the amount alone, so the sender vouches for none.
   */
  amountCommitted: boolean
  /** The receipt's created_at, Unix seconds. */
  createdAt: number
}

export function validateZapReceipt(receipt: Event, expect: ZapExpectation): ValidZap {
  checkEvent(receipt, ZapError.INVALID_RECEIPT)
  if (receipt.kind !== kinds.Zap) throw ZapError.NOT_A_RECEIPT(receipt.kind)
  if (receipt.pubkey !== expect.lnurlNostrPubkey) throw ZapError.WRONG_SIGNER()
  const description = single(receipt, 'description', ZapError.DESCRIPTION_MISSING)
  const request = readZapRequest(description)
  checkRecipient(request, 'zap request', expect.recipient)
  checkRecipient(receipt, 'receipt', expect.recipient)
  const invoice = readInvoice(single(receipt, 'bolt11', () => ZapError.INVOICE_INVALID('no single `bolt11` tag')))
  const amountMsat = invoiceAmount(invoice)
  const requested = request.tags.filter((t) => t[0] === 'amount')
  if (requested.length > 1) throw ZapError.INVALID_ZAP_REQUEST('it has more than one `amount` tag')
  const asked = requested[0]?.[1]
  if (asked !== undefined && (!MSAT.test(asked) || Number(asked) !== amountMsat))
    throw ZapError.AMOUNT_MISMATCH(asked.slice(0, 24), amountMsat)
  if (invoice.descriptionHash !== sha256Hex(description)) throw ZapError.DESCRIPTION_HASH_MISMATCH()
  if (request.pubkey === expect.recipient) throw ZapError.SELF_ZAP()
  const eventId = zappedEvent(receipt, request)
  return {
    receiptId: receipt.id,
    paymentHash: invoice.paymentHash,
    amountMsat,
    network: invoice.network,
    sender: request.pubkey,
    zapRequestId: request.id,
    eventId,
    amountCommitted: asked !== undefined,
    createdAt: receipt.created_at
  }
}

/**
 * Keeps the first zap of each payment hash and of each zap request: one payment, however many
 * receipts report it, and one zap per request its sender signed (a server could otherwise wrap one
 * signed request in receipts for any number of invoices).
 */
export function dedupeZaps(zaps: ValidZap[]): ValidZap[] {
  const hashes = new Set<string>()
  const requests = new Set<string>()
  return zaps.filter((z) => {
    if (hashes.has(z.paymentHash) || requests.has(z.zapRequestId)) return false
    hashes.add(z.paymentHash)
    requests.add(z.zapRequestId)
    return true
  })
}

/** Shape, bounds, id and signature. A fresh object of the seven fields carries no cached verdict. */
function checkEvent(event: unknown, refuse: (why: string) => ZapError): asserts event is Event {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) throw refuse('not an object')
  const { id, pubkey, created_at, kind, tags, content, sig } = event as Record<string, unknown>
  if (typeof id !== 'string' || !HEX64.test(id)) throw refuse('its id is not 64 hex')
  if (typeof pubkey !== 'string' || !HEX64.test(pubkey)) throw refuse('its pubkey is not 64 hex')
  if (typeof sig !== 'string' || !HEX128.test(sig)) throw refuse('its sig is not 128 hex')
  if (!Number.isSafeInteger(created_at) || !Number.isSafeInteger(kind)) throw refuse('created_at or kind is no integer')
  if (typeof content !== 'string') throw refuse('its content is not a string')
  if (!Array.isArray(tags) || tags.length > MAX_ZAP_TAGS)
    throw refuse(`its tags are not a list of at most ${MAX_ZAP_TAGS}`)
  if (!tags.every((t) => Array.isArray(t) && t.length > 0 && t.every((v) => typeof v === 'string')))
    throw refuse('a tag is not a list of strings')
  const fresh = { id, pubkey, created_at, kind, tags, content, sig } as Event
  if (!verifyEvent(fresh)) throw refuse('bad id or signature')
}

/** The value of the one tag named `name`; none, or two that could be read two ways, is refused. */
function single(event: Event, name: string, refuse: () => ZapError): string {
  const found = event.tags.filter((t) => t[0] === name)
  if (found.length !== 1 || found[0]?.[1] === undefined) throw refuse()
  return found[0][1]
}

function readZapRequest(description: string): Event {
  if (Buffer.byteLength(description, 'utf8') > MAX_DESCRIPTION_BYTES)
    throw ZapError.DESCRIPTION_TOO_LARGE(MAX_DESCRIPTION_BYTES)
  let parsed: unknown
  try {
    parsed = JSON.parse(description)
  } catch {
    throw ZapError.INVALID_ZAP_REQUEST('its description is not JSON')
  }
  checkEvent(parsed, ZapError.INVALID_ZAP_REQUEST)
  if (parsed.kind !== kinds.ZapRequest) throw ZapError.INVALID_ZAP_REQUEST(`it is of kind ${parsed.kind}, not 9734`)
  return parsed
}

function checkRecipient(event: Event, where: string, recipient: string): void {
  const ps = event.tags.filter((t) => t[0] === 'p')
  if (ps.length !== 1) throw ZapError.RECIPIENT_COUNT(where, ps.length)
  if (ps[0]?.[1] !== recipient) throw ZapError.WRONG_RECIPIENT(where)
}

function readInvoice(bolt11: string): DecodedInvoice {
  try {
    return decodeInvoice(bolt11)
  } catch (err) {
    if (isWalletError(err)) throw ZapError.INVOICE_INVALID(err.message, err)
    throw err
  }
}

/** A whole, non-zero, exactly representable amount: above 2^53 msat (90 071 BTC) is no zap. */
function invoiceAmount(invoice: DecodedInvoice): number {
  if (invoice.amountMsat === null || invoice.amountMsat === '0') throw ZapError.AMOUNT_MISSING()
  const msat = Number(invoice.amountMsat)
  if (!Number.isSafeInteger(msat)) throw ZapError.INVOICE_INVALID(`its amount ${invoice.amountMsat} msat is too large`)
  return msat
}

/**
 * The zapped event is the zap request's `e`: the one its sender signed. A receipt may leave it out
 * (servers differ), but one that names an event names that one.
 */
function zappedEvent(receipt: Event, request: Event): string | null {
  const ofReceipt = receipt.tags.filter((t) => t[0] === 'e')
  const ofRequest = request.tags.filter((t) => t[0] === 'e')
  if (ofRequest.length > 1) throw ZapError.INVALID_ZAP_REQUEST('it has more than one `e` tag')
  const e = ofRequest[0]?.[1] ?? null
  if (e !== null && !HEX64.test(e)) throw ZapError.INVALID_ZAP_REQUEST('its `e` is not an event id')
  if (ofReceipt.length > 1 || (ofReceipt.length === 1 && ofReceipt[0]?.[1] !== e)) throw ZapError.EVENT_MISMATCH()
  return e
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}
