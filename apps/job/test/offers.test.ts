// The invoice checks of 2020117-job (src/offers.ts) on invoices no devnet provider would make:
// route hints that charge a fee, a payee that changes between two invoices of one provider, no
// amount, no invoice at all. Each refusal names its check.

import { createHash, randomBytes } from 'node:crypto'
import bolt11 from 'bolt11'
import { expect, test } from 'vitest'
import { ClaimRecord } from '@2020117/files'
import { checkInvoice, type InvoiceTerms } from '../src/offers.js'

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] }
const NODE_A = randomBytes(32).toString('hex')
const NODE_B = randomBytes(32).toString('hex')
const PROVIDER = 'aa'.repeat(32)

function invoice(opts: { msat?: number; key?: string; hint?: { base: number; ppm: number }; expiry?: number } = {}) {
  const paymentHash = createHash('sha256').update(randomBytes(32)).digest('hex')
  const tags: Array<{ tagName: string; data: unknown }> = [
    { tagName: 'payment_hash', data: paymentHash },
    { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
    { tagName: 'description', data: 'job' },
    { tagName: 'expire_time', data: opts.expiry ?? 600 }
  ]
  if (opts.hint)
    tags.push({
      tagName: 'routing_info',
      data: [
        {
          pubkey: '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798', // the generator point: a valid key
          short_channel_id: '0102030405060708',
          fee_base_msat: opts.hint.base,
          fee_proportional_millionths: opts.hint.ppm,
          cltv_expiry_delta: 40
        }
      ]
    })
  const encoded = bolt11.encode({
    network: REGTEST,
    ...(opts.msat === undefined ? {} : { millisatoshis: String(opts.msat) }),
    timestamp: Math.floor(Date.now() / 1000),
    tags
  } as never)
  return { bolt11: bolt11.sign(encoded, opts.key ?? NODE_A).paymentRequest as string, paymentHash }
}

function terms(extra: Partial<InvoiceTerms> = {}): InvoiceTerms {
  return {
    maxAmountMsat: 9000,
    maxFeeMsat: 1000,
    network: 'regtest',
    paid: ClaimRecord.memory(),
    payees: new Map(),
    ...extra
  }
}

function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as { code: string }).code
  }
  return 'APPROVED'
}

test('an honest invoice within the bid is approved, with its decoded hash', () => {
  const inv = invoice({ msat: 5000 })
  const ok = checkInvoice(PROVIDER, 5000, inv.bolt11, terms())
  expect(ok).toMatchObject({ provider: PROVIDER, amountMsat: 5000, bolt11: inv.bolt11 })
  expect(ok.invoice.paymentHash).toBe(inv.paymentHash)
})

test('no invoice, an amountless invoice, an amount tag that disagrees: each refused by name', () => {
  expect(refusal(() => checkInvoice(PROVIDER, 5000, null, terms()))).toBe('JOB_NO_INVOICE')
  expect(refusal(() => checkInvoice(PROVIDER, 5000, invoice().bolt11, terms()))).toBe('JOB_AMOUNT_TAG_MISMATCH')
  expect(refusal(() => checkInvoice(PROVIDER, null, invoice({ msat: 5000 }).bolt11, terms()))).toBe(
    'JOB_AMOUNT_TAG_MISMATCH'
  )
  expect(refusal(() => checkInvoice(PROVIDER, 5001, invoice({ msat: 5000 }).bolt11, terms()))).toBe(
    'JOB_AMOUNT_TAG_MISMATCH'
  )
})

test('over the bid less the fee reserve; expired within the margin; a hash already paid', async () => {
  expect(refusal(() => checkInvoice(PROVIDER, 9001, invoice({ msat: 9001 }).bolt11, terms()))).toBe('JOB_OVER_BID')
  expect(refusal(() => checkInvoice(PROVIDER, 5000, invoice({ msat: 5000, expiry: 5 }).bolt11, terms()))).toBe(
    'INVOICE_EXPIRED'
  )
  const paid = ClaimRecord.memory()
  const inv = invoice({ msat: 5000 })
  await paid.claim(inv.paymentHash, Math.floor(Date.now() / 1000) + 600)
  expect(refusal(() => checkInvoice(PROVIDER, 5000, inv.bolt11, terms({ paid })))).toBe('INVOICE_HASH_REUSED')
})

test("route hints whose fee passes --max-fee are refused; a provider's payee may not change", () => {
  const dear = invoice({ msat: 5000, hint: { base: 1500, ppm: 0 } })
  expect(refusal(() => checkInvoice(PROVIDER, 5000, dear.bolt11, terms()))).toBe('FEE_TOO_HIGH')
  const cheap = invoice({ msat: 5000, hint: { base: 10, ppm: 1000 } })
  expect(refusal(() => checkInvoice(PROVIDER, 5000, cheap.bolt11, terms()))).toBe('APPROVED')

  const t = terms()
  checkInvoice(PROVIDER, 5000, invoice({ msat: 5000, key: NODE_A }).bolt11, t)
  expect(refusal(() => checkInvoice(PROVIDER, 5000, invoice({ msat: 5000, key: NODE_B }).bolt11, t))).toBe(
    'INVOICE_PAYEE_CHANGED'
  )
  // Another provider may have another node.
  expect(refusal(() => checkInvoice('cc'.repeat(32), 5000, invoice({ msat: 5000, key: NODE_B }).bolt11, t))).toBe(
    'APPROVED'
  )
})

test('an invoice that breaks BOLT #11 (a bad checksum) is refused before anything else', () => {
  const inv = invoice({ msat: 5000 }).bolt11
  const broken = inv.slice(0, -1) + (inv.endsWith('q') ? 'p' : 'q')
  expect(refusal(() => checkInvoice(PROVIDER, 5000, broken, terms()))).toBe('INVOICE_INVALID')
})

test("a blob's file extension comes from a closed list of MIME types, never from the provider's text", async () => {
  const { extensionOf } = await import('../src/output.js')
  expect(extensionOf('image/png')).toBe('png')
  expect(extensionOf('IMAGE/JPEG; charset=binary')).toBe('jpg')
  expect(extensionOf('image/png/../../x')).toBe('bin')
  expect(extensionOf('text/html')).toBe('bin')
  expect(extensionOf('constructor')).toBe('bin')
  expect(extensionOf(null)).toBe('bin')
})
