// Job events as a stranger could send them: every check of parseRequest, parseFeedback and
// parseResult is made to fail once here, and the encrypted path is checked to leak no plaintext.

import { describe, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { nip04, nip44 } from 'nostr-tools'
import { kinds, MAX_JOB_INPUT_BYTES, MAX_JOB_INPUTS } from '@2020117/protocol'
import {
  buildCancellation,
  buildFeedback,
  buildRequest,
  buildResult,
  cancelledIds,
  parseFeedback,
  parseRequest,
  parseResult,
  schemeOf,
  type JobRequest
} from '@2020117/jobs'

const customerKey = generateSecretKey()
const customer = getPublicKey(customerKey)
const providerKey = generateSecretKey()
const provider = getPublicKey(providerKey)
const SECRET = 'the secret prompt 7f3a'

function request(extra: Partial<Parameters<typeof buildRequest>[0]> = {}): Event {
  return buildRequest(
    { kind: 5050, inputs: [{ data: 'hello', type: 'text' }], params: { lang: 'fr' }, bidMsat: 5000, ...extra },
    customerKey
  )
}

function signed(kind: number, tags: string[][], content = '', key = customerKey): Event {
  return finalizeEvent({ kind, created_at: Math.floor(Date.now() / 1000), tags, content }, key)
}

function code(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

describe('parseRequest', () => {
  test('reads what buildRequest wrote', () => {
    const ev = request({ relays: ['ws://127.0.0.1:1'], provider, expiration: 2_000_000_000 })
    const r = parseRequest(ev)
    expect(r).toMatchObject({
      id: ev.id,
      kind: 5050,
      customer,
      inputs: [{ data: 'hello', type: 'text' }],
      params: { lang: 'fr' },
      bidMsat: 5000,
      relays: ['ws://127.0.0.1:1'],
      providers: [provider],
      expiration: 2_000_000_000,
      encryption: null
    })
  })

  test('refuses a tampered event, a non-job kind and a bid that is not msat', () => {
    const ev = request()
    expect(code(() => parseRequest({ ...ev, content: 'changed' }))).toBe('INVALID_EVENT')
    expect(code(() => parseRequest(signed(1, [['i', 'x', 'text']])))).toBe('INVALID_EVENT')
    expect(code(() => parseRequest(signed(5050, [['bid', '12.5']])))).toBe('INVALID_EVENT')
    expect(code(() => parseRequest(signed(5050, [['bid', '-1']])))).toBe('INVALID_EVENT')
    expect(code(() => parseRequest(signed(5050, [['i', 'x', 'shell']])))).toBe('INVALID_EVENT')
    expect(code(() => parseRequest(signed(5050, [['i', 'not-an-id', 'job']])))).toBe('INVALID_EVENT')
  })

  test('bounds inputs by count and by bytes, and params by size', () => {
    const many = Array.from({ length: MAX_JOB_INPUTS + 1 }, (_, n) => ['i', String(n), 'text'])
    expect(code(() => parseRequest(signed(5050, many)))).toBe('LIMIT_EXCEEDED')
    const huge = [['i', 'x'.repeat(MAX_JOB_INPUT_BYTES + 1), 'text']]
    expect(code(() => parseRequest(signed(5050, huge)))).toBe('LIMIT_EXCEEDED')
    expect(code(() => parseRequest(signed(5050, [['param', 'k', 'v'.repeat(2000)]])))).toBe('LIMIT_EXCEEDED')
    expect(
      code(() =>
        parseRequest(
          signed(
            5050,
            Array.from({ length: 65 }, () => ['t', 'x'])
          )
        )
      )
    ).toBe('LIMIT_EXCEEDED')
  })

  test('reads prompt as text, keeps the first of a repeated param, drops relays that are not ws(s)', () => {
    const r = parseRequest(
      signed(5050, [
        ['i', 'hi', 'prompt'],
        ['param', 'a', '1'],
        ['param', 'a', '2'],
        ['relays', 'ws://127.0.0.1:9', 'http://example.invalid', 'javascript:alert(1)']
      ])
    )
    expect(r.inputs[0]?.type).toBe('text')
    expect(r.params).toEqual({ a: '1' })
    expect(r.relays).toEqual(['ws://127.0.0.1:9'])
  })
})

describe('encrypted requests', () => {
  for (const scheme of ['nip44', 'nip04'] as const) {
    test(`${scheme}: the provider reads it, nobody else does, and the event stays encrypted`, () => {
      const ev = request({ provider, encrypt: scheme, inputs: [{ data: SECRET, type: 'text' }] })
      expect(JSON.stringify(ev)).not.toContain(SECRET)
      expect(ev.tags.some((t) => t[0] === 'i' || t[0] === 'bid')).toBe(false)
      expect(schemeOf(ev.content)).toBe(scheme)
      const before = JSON.stringify(ev)
      const r = parseRequest(ev, { secretKey: providerKey })
      expect(r.encryption).toBe(scheme)
      expect(r.inputs[0]?.data).toBe(SECRET)
      expect(r.bidMsat).toBe(5000)
      expect(JSON.stringify(ev)).toBe(before)
      expect(code(() => parseRequest(ev))).toBe('UNDECRYPTABLE')
      expect(code(() => parseRequest(ev, { secretKey: generateSecretKey() }))).toBe('UNDECRYPTABLE')
    })

    if (scheme === 'nip04')
      test('nip04 has no MAC: a wrong key whose garbage happens to unpad is UNDECRYPTABLE too, not INVALID_EVENT', () => {
        const ev = request({ provider, encrypt: scheme, inputs: [{ data: SECRET, type: 'text' }] })
        // About one wrong key in 256 leaves valid PKCS#7 padding, so AES-CBC "succeeds" with garbage.
        let unpadding: Uint8Array | undefined
        for (let i = 0; i < 20_000 && !unpadding; i++) {
          const key = generateSecretKey()
          try {
            nip04.decrypt(key, ev.pubkey, ev.content)
            unpadding = key
          } catch {}
        }
        expect(unpadding).toBeDefined()
        expect(code(() => parseRequest(ev, { secretKey: unpadding! }))).toBe('UNDECRYPTABLE')
      })

    test(`${scheme}: feedback and result carry no plaintext, and the customer reads them`, () => {
      const r = parseRequest(request({ provider, encrypt: scheme, inputs: [{ data: SECRET, type: 'text' }] }), {
        secretKey: providerKey
      })
      const fb = buildFeedback(r, { status: 'error', text: `PROCESSOR_FAILED: could not do ${SECRET}` }, providerKey)
      const res = buildResult(r, { content: `done: ${SECRET}`, amountMsat: 5000 }, providerKey)
      for (const ev of [fb, res]) {
        const { tags, content } = ev
        expect(JSON.stringify({ tags, content })).not.toContain(SECRET)
      }
      expect(res.tags.some((t) => t[0] === 'i')).toBe(false)
      const ref = { id: r.id, kind: r.kind, customer, encryption: scheme }
      expect(parseFeedback(fb, ref, customerKey).text).toContain(SECRET)
      expect(parseResult(res, ref, customerKey).content).toBe(`done: ${SECRET}`)
    })
  }

  test(`an encrypted feedback's content is a JSON list of tags holding the status (as NDK reads it)`, () => {
    for (const scheme of ['nip44', 'nip04'] as const) {
      const r = parseRequest(request({ provider, encrypt: scheme }), { secretKey: providerKey })
      const fb = buildFeedback(r, { status: 'error', text: `PROCESSOR_FAILED: ${SECRET}` }, providerKey)
      expect(fb.tags.filter((t) => t[0] === 'status')).toEqual([['status', 'error']])
      expect(schemeOf(fb.content)).toBe(scheme)
      const plaintext = (content: string) =>
        scheme === 'nip44'
          ? nip44.decrypt(content, nip44.getConversationKey(customerKey, provider))
          : nip04.decrypt(customerKey, provider, content)
      expect(JSON.parse(plaintext(fb.content))).toEqual([['status', 'error', `PROCESSOR_FAILED: ${SECRET}`]])
      // Without a text too: NDK decrypts every feedback marked encrypted, so its content is never empty.
      const offer = buildFeedback(
        r,
        { status: 'payment-required', amountMsat: 5000, bolt11: 'lnbcrt50n1x' },
        providerKey
      )
      expect(offer.tags).toContainEqual(['status', 'payment-required'])
      expect(offer.tags).toContainEqual(['amount', '5000', 'lnbcrt50n1x'])
      expect(JSON.parse(plaintext(offer.content))).toEqual([['status', 'payment-required']])
    }
  })

  test('parseFeedback reads both forms of an encrypted feedback: the JSON tag list and the old bare text', () => {
    const r = parseRequest(request({ provider, encrypt: 'nip44' }), { secretKey: providerKey })
    const ref = { id: r.id, kind: r.kind, customer, encryption: 'nip44' as const }
    const key = nip44.getConversationKey(providerKey, customer)
    const tags = [['e', r.id], ['p', customer], ['status', 'error'], ['encrypted']]
    const listed = signed(
      kinds.JobFeedback,
      tags,
      nip44.encrypt(JSON.stringify([['status', 'error', 'PROCESSOR_FAILED: new']]), key),
      providerKey
    )
    expect(parseFeedback(listed, ref, customerKey)).toMatchObject({ status: 'error', text: 'PROCESSOR_FAILED: new' })
    const bare = signed(kinds.JobFeedback, tags, nip44.encrypt('PROCESSOR_FAILED: old', key), providerKey)
    expect(parseFeedback(bare, ref, customerKey)).toMatchObject({ status: 'error', text: 'PROCESSOR_FAILED: old' })
    // The clear status stands: a hidden status tag of another status lends it no text.
    const other = signed(
      kinds.JobFeedback,
      tags,
      nip44.encrypt(JSON.stringify([['status', 'success', 'all good']]), key),
      providerKey
    )
    expect(parseFeedback(other, ref, customerKey)).toMatchObject({ status: 'error', text: '' })
  })

  test('a plaintext result for an encrypted request is refused', () => {
    const r = parseRequest(request({ provider, encrypt: 'nip44' }), { secretKey: providerKey })
    const plain = buildResult({ ...r, encryption: null }, { content: 'leaked' }, providerKey)
    expect(code(() => parseResult(plain, { id: r.id, kind: r.kind, customer, encryption: 'nip44' }, customerKey))).toBe(
      'NOT_OUR_REQUEST'
    )
  })

  test('decrypts what nostr-tools alone encrypted, in both schemes', () => {
    const tags = JSON.stringify([['i', SECRET, 'text']])
    for (const content of [
      nip44.encrypt(tags, nip44.getConversationKey(customerKey, provider)),
      nip04.encrypt(customerKey, provider, tags)
    ]) {
      const ev = signed(5050, [['p', provider], ['encrypted']], content)
      expect(parseRequest(ev, { secretKey: providerKey }).inputs[0]?.data).toBe(SECRET)
    }
  })
})

describe('parseFeedback and parseResult', () => {
  const req: JobRequest = parseRequest(request())
  const ref = { id: req.id, kind: req.kind, customer, encryption: null }

  test('reads a payment-required feedback, in both spellings, with its amount', () => {
    const fb = buildFeedback(req, { status: 'payment-required', amountMsat: 5000, bolt11: 'lnbcrt50n1x' }, providerKey)
    expect(parseFeedback(fb, ref, customerKey)).toMatchObject({
      provider,
      status: 'payment-required',
      amountMsat: 5000,
      bolt11: 'lnbcrt50n1x'
    })
    const ndk = signed(
      kinds.JobFeedback,
      [
        ['status', 'payment_required'],
        ['e', req.id, '', 'job', customer],
        ['p', provider],
        ['p', customer],
        ['amount', '5000', 'lnbcrt50n1x']
      ],
      '',
      providerKey
    )
    expect(parseFeedback(ndk, ref, customerKey).status).toBe('payment-required')
  })

  test('refuses answers to another request, answers naming two requests, and answers not addressed to us', () => {
    const other = signed(
      kinds.JobFeedback,
      [
        ['status', 'processing'],
        ['e', 'ab'.repeat(32)],
        ['p', customer]
      ],
      '',
      providerKey
    )
    expect(code(() => parseFeedback(other, ref, customerKey))).toBe('NOT_OUR_REQUEST')
    const two = signed(
      kinds.JobFeedback,
      [
        ['status', 'processing'],
        ['e', req.id],
        ['e', 'ab'.repeat(32)],
        ['p', customer]
      ],
      '',
      providerKey
    )
    expect(code(() => parseFeedback(two, ref, customerKey))).toBe('NOT_OUR_REQUEST')
    const notUs = signed(
      kinds.JobFeedback,
      [
        ['status', 'processing'],
        ['e', req.id],
        ['p', provider]
      ],
      '',
      providerKey
    )
    expect(code(() => parseFeedback(notUs, ref, customerKey))).toBe('NOT_OUR_REQUEST')
    const fake = {
      ...buildFeedback(req, { status: 'success' }, providerKey),
      pubkey: getPublicKey(generateSecretKey())
    }
    expect(code(() => parseFeedback(fake, ref, customerKey))).toBe('INVALID_EVENT')
  })

  test('refuses an amount that is not msat and a result of the wrong kind', () => {
    const bad = signed(
      kinds.JobFeedback,
      [
        ['status', 'payment-required'],
        ['e', req.id],
        ['p', customer],
        ['amount', '1e3']
      ],
      '',
      providerKey
    )
    expect(code(() => parseFeedback(bad, ref, customerKey))).toBe('INVALID_EVENT')
    const wrongKind = signed(
      6100,
      [
        ['e', req.id],
        ['p', customer]
      ],
      'out',
      providerKey
    )
    expect(code(() => parseResult(wrongKind, ref, customerKey))).toBe('NOT_OUR_REQUEST')
  })

  test('a result repeats the inputs and the request, and names its blob', () => {
    const sha = 'cd'.repeat(32)
    const res = buildResult(
      req,
      { content: 'http://127.0.0.1/x', blob: { sha256: sha, mime: 'image/png' } },
      providerKey
    )
    expect(res.kind).toBe(6050)
    expect(res.tags).toContainEqual(['i', 'hello', 'text'])
    expect(JSON.parse(res.tags.find((t) => t[0] === 'request')![1]!).id).toBe(req.id)
    expect(parseResult(res, ref, customerKey).blob).toEqual({ sha256: sha, mime: 'image/png' })
  })
})

test('a cancellation names the request, and only its author can make one', () => {
  const ev = request()
  const del = buildCancellation(ev, customerKey)
  expect(del.kind).toBe(kinds.Deletion)
  expect(del.tags).toContainEqual(['k', '5050'])
  expect(cancelledIds(del)).toEqual([ev.id])
  expect(code(() => buildCancellation(ev, providerKey))).toBe('INVALID_EVENT')
})
