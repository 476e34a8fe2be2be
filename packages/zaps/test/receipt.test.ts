// Zap receipts as a stranger could send them: one honest receipt counts, and every forgery of NIP-57
// Appendix F is built for real (signed events, signed BOLT11 invoices) and refused with its own code.

import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import bolt11 from 'bolt11'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { dedupeZaps, MAX_DESCRIPTION_BYTES, validateZapReceipt, type ZapErrorCode } from '@2020117/zaps'

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] }
const NODE_KEY = randomBytes(32).toString('hex')

const providerKey = generateSecretKey()
const provider = getPublicKey(providerKey)
const serverKey = generateSecretKey()
const server = getPublicKey(serverKey)
const senderKey = generateSecretKey()
const sender = getPublicKey(senderKey)
const expect_ = { recipient: provider, lnurlNostrPubkey: server }
const ZAPPED = 'ab'.repeat(32)

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

/** A signed regtest invoice committing to `hashOf` with `h` (or carrying it as a plain `d`). */
function invoice(opts: { amountMsat: number | null; hashOf: string; plainDescription?: boolean }): string {
  const paymentHash = sha256(randomBytes(32).toString('hex'))
  const encoded = bolt11.encode({
    network: REGTEST,
    ...(opts.amountMsat === null ? {} : { millisatoshis: String(opts.amountMsat) }),
    timestamp: Math.floor(Date.now() / 1000),
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      opts.plainDescription
        ? { tagName: 'description', data: opts.hashOf.slice(0, 100) }
        : { tagName: 'purpose_commit_hash', data: sha256(opts.hashOf) },
      { tagName: 'expire_time', data: 600 }
    ]
  })
  return bolt11.sign(encoded, NODE_KEY).paymentRequest as string
}

interface ZapOptions {
  senderKey?: Uint8Array
  requestKind?: number
  requestP?: string[]
  requestE?: string | null
  /** The zap request's `amount` tag; null leaves it out. */
  amountTag?: string | null
  content?: string
  invoiceMsat?: number | null
  /** What the invoice's `h` commits to, when not the description itself. */
  hashOf?: string
  plainDescription?: boolean
  bolt11?: string
  signerKey?: Uint8Array
  receiptKind?: number
  receiptP?: string[]
  receiptE?: string | null
  description?: string | null
}

function zap(o: ZapOptions = {}): { receipt: Event; request: Event } {
  const requestTags = [
    ['relays', 'ws://127.0.0.1:1'],
    ...(o.requestP ?? [provider]).map((p) => ['p', p]),
    ...(o.requestE === null ? [] : [['e', o.requestE ?? ZAPPED]]),
    ...(o.amountTag === null ? [] : [['amount', o.amountTag ?? '21000']])
  ]
  const request = finalizeEvent(
    { kind: o.requestKind ?? 9734, created_at: 1_700_000_000, tags: requestTags, content: o.content ?? 'great job' },
    o.senderKey ?? senderKey
  )
  const description = o.description === undefined ? JSON.stringify(request) : o.description
  const pr =
    o.bolt11 ??
    invoice({
      amountMsat: o.invoiceMsat === undefined ? 21000 : o.invoiceMsat,
      hashOf: o.hashOf ?? description ?? '',
      plainDescription: o.plainDescription
    })
  const receiptTags = [
    ...(o.receiptP ?? [provider]).map((p) => ['p', p]),
    ...(o.receiptE === null ? [] : [['e', o.receiptE ?? ZAPPED]]),
    ['P', request.pubkey],
    ['bolt11', pr],
    ...(description === null ? [] : [['description', description]])
  ]
  const receipt = finalizeEvent(
    { kind: o.receiptKind ?? 9735, created_at: 1_700_000_100, tags: receiptTags, content: '' },
    o.signerKey ?? serverKey
  )
  return { receipt, request }
}

function refusal(receipt: Event): ZapErrorCode | 'ACCEPTED' {
  try {
    validateZapReceipt(receipt, expect_)
    return 'ACCEPTED'
  } catch (err) {
    return (err as { code: ZapErrorCode }).code
  }
}

describe('validateZapReceipt', () => {
  test('an honest receipt counts the invoice amount, for the zap request author', () => {
    const { receipt, request } = zap()
    const valid = validateZapReceipt(receipt, expect_)
    const hash = bolt11.decode(receipt.tags.find((t) => t[0] === 'bolt11')?.[1] as string, REGTEST).tagsObject
      .payment_hash
    expect(valid).toEqual({
      receiptId: receipt.id,
      paymentHash: hash,
      amountMsat: 21000,
      network: 'regtest',
      sender,
      zapRequestId: request.id,
      eventId: ZAPPED,
      amountCommitted: true,
      createdAt: 1_700_000_100
    })
  })

  test('a profile zap without `e` and a zap request without `amount` count too', () => {
    const valid = validateZapReceipt(zap({ requestE: null, receiptE: null, amountTag: null }).receipt, expect_)
    expect(valid.eventId).toBeNull()
    expect(valid.amountCommitted).toBe(false)
    expect(valid.amountMsat).toBe(21000)
    // A receipt may leave the zapped event out; the zap request's signed `e` is what counts.
    expect(validateZapReceipt(zap({ receiptE: null }).receipt, expect_).eventId).toBe(ZAPPED)
  })

  test('a receipt signed by a key other than the LNURL server nostrPubkey is WRONG_SIGNER', () => {
    expect(refusal(zap({ signerKey: generateSecretKey() }).receipt)).toBe('WRONG_SIGNER')
    // Signed by the provider itself, which is not its server's key either.
    expect(refusal(zap({ signerKey: providerKey }).receipt)).toBe('WRONG_SIGNER')
  })

  test('a receipt changed after signing is INVALID_RECEIPT, even a spread copy of a verified one', () => {
    const { receipt } = zap()
    validateZapReceipt(receipt, expect_)
    const bigger = invoice({
      amountMsat: 21_000_000,
      hashOf: receipt.tags.find((t) => t[0] === 'description')?.[1] as string
    })
    const tampered = { ...receipt, tags: receipt.tags.map((t) => (t[0] === 'bolt11' ? ['bolt11', bigger] : t)) }
    expect(refusal(tampered)).toBe('INVALID_RECEIPT')
    expect(refusal({ ...receipt, sig: '00'.repeat(64) })).toBe('INVALID_RECEIPT')
    expect(refusal({ ...receipt, tags: 'p' } as unknown as Event)).toBe('INVALID_RECEIPT')
    expect(refusal(null as unknown as Event)).toBe('INVALID_RECEIPT')
  })

  test('an event of another kind is NOT_A_RECEIPT', () => {
    expect(refusal(zap({ receiptKind: 1 }).receipt)).toBe('NOT_A_RECEIPT')
  })

  test('a zap request with two `p`, or none, is RECIPIENT_COUNT', () => {
    expect(refusal(zap({ requestP: [provider, getPublicKey(generateSecretKey())] }).receipt)).toBe('RECIPIENT_COUNT')
    expect(refusal(zap({ requestP: [] }).receipt)).toBe('RECIPIENT_COUNT')
    expect(refusal(zap({ receiptP: [provider, provider] }).receipt)).toBe('RECIPIENT_COUNT')
  })

  test('a zap request or receipt whose `p` is not the recipient is WRONG_RECIPIENT', () => {
    const other = getPublicKey(generateSecretKey())
    expect(refusal(zap({ requestP: [other] }).receipt)).toBe('WRONG_RECIPIENT')
    // A custodial server letting the payer choose `p`: the receipt names someone else than the request.
    expect(refusal(zap({ receiptP: [other] }).receipt)).toBe('WRONG_RECIPIENT')
  })

  test('a zap request `amount` other than the invoice amount is AMOUNT_MISMATCH', () => {
    expect(refusal(zap({ amountTag: '21000000' }).receipt)).toBe('AMOUNT_MISMATCH')
    expect(refusal(zap({ amountTag: '21000', invoiceMsat: 1000 }).receipt)).toBe('AMOUNT_MISMATCH')
    expect(refusal(zap({ amountTag: '021000' }).receipt)).toBe('AMOUNT_MISMATCH')
  })

  test('an invoice whose description hash is not that of the zap request is DESCRIPTION_HASH_MISMATCH', () => {
    expect(refusal(zap({ hashOf: 'some other zap request' }).receipt)).toBe('DESCRIPTION_HASH_MISMATCH')
    expect(refusal(zap({ plainDescription: true }).receipt)).toBe('DESCRIPTION_HASH_MISMATCH')
  })

  test("a zap request signed by the recipient's own key is SELF_ZAP", () => {
    expect(refusal(zap({ senderKey: providerKey }).receipt)).toBe('SELF_ZAP')
  })

  test('an invoice without an amount, or with a zero one, is AMOUNT_MISSING', () => {
    expect(refusal(zap({ invoiceMsat: null, amountTag: null }).receipt)).toBe('AMOUNT_MISSING')
    expect(refusal(zap({ invoiceMsat: 0, amountTag: null }).receipt)).toBe('AMOUNT_MISSING')
  })

  test('a zap request over 64 KiB is DESCRIPTION_TOO_LARGE, before it is parsed', () => {
    const { receipt } = zap({ content: 'x'.repeat(MAX_DESCRIPTION_BYTES) })
    expect(refusal(receipt)).toBe('DESCRIPTION_TOO_LARGE')
  })

  test('no `description`, or one that is not a signed kind 9734, is refused', () => {
    expect(refusal(zap({ description: null }).receipt)).toBe('DESCRIPTION_MISSING')
    expect(refusal(zap({ description: 'not json' }).receipt)).toBe('INVALID_ZAP_REQUEST')
    expect(refusal(zap({ requestKind: 1 }).receipt)).toBe('INVALID_ZAP_REQUEST')
    const { request } = zap()
    const forged = JSON.stringify({
      ...request,
      tags: [
        ['p', provider],
        ['amount', '99000']
      ]
    })
    expect(refusal(zap({ description: forged }).receipt)).toBe('INVALID_ZAP_REQUEST')
  })

  test('a missing or undecodable bolt11 is INVOICE_INVALID', () => {
    expect(refusal(zap({ bolt11: 'lnbcrt1garbage' }).receipt)).toBe('INVOICE_INVALID')
  })

  test('a receipt naming another event than its zap request is EVENT_MISMATCH', () => {
    expect(refusal(zap({ receiptE: 'cd'.repeat(32) }).receipt)).toBe('EVENT_MISMATCH')
    expect(refusal(zap({ requestE: null }).receipt)).toBe('EVENT_MISMATCH')
  })
})

describe('dedupeZaps', () => {
  test('two receipts of one payment count once, the first kept', () => {
    const first = zap()
    const description = first.receipt.tags.find((t) => t[0] === 'description')?.[1] as string
    const pr = first.receipt.tags.find((t) => t[0] === 'bolt11')?.[1] as string
    // The same payment reported again, in a receipt of its own (another created_at, so another id).
    const again = finalizeEvent(
      {
        kind: 9735,
        created_at: 1_700_000_200,
        tags: [
          ['p', provider],
          ['bolt11', pr],
          ['description', description]
        ],
        content: ''
      },
      serverKey
    )
    const other = zap({ content: 'another zap' })
    const zaps = [first.receipt, again, other.receipt].map((r) => validateZapReceipt(r, expect_))
    expect(zaps[0]?.paymentHash).toBe(zaps[1]?.paymentHash)
    expect(dedupeZaps(zaps).map((z) => z.receiptId)).toEqual([first.receipt.id, other.receipt.id])
  })

  test('one signed zap request wrapped in receipts for two invoices counts once', () => {
    const first = zap()
    const wrappedAgain = zap() // the same request (same key, time and content), a new invoice
    const zaps = [first.receipt, wrappedAgain.receipt].map((r) => validateZapReceipt(r, expect_))
    expect(zaps[0]?.zapRequestId).toBe(zaps[1]?.zapRequestId)
    expect(zaps[0]?.paymentHash).not.toBe(zaps[1]?.paymentHash)
    expect(dedupeZaps(zaps).map((z) => z.receiptId)).toEqual([first.receipt.id])
  })
})
