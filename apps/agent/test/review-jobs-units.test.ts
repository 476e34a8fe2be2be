// A hostile review of job mode (src/jobs), the holes that pure logic shows: each test names the
// hole it closes, and failed before its fix.

import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { expect, test } from 'vitest'
import { buildRequest, parseRequest } from '@2020117/jobs'
import type { RelayPool } from '@2020117/nostr'
import { decide } from '../src/jobs/intake.js'
import { isPublicHost, reachable } from '../src/jobs/reach.js'
import { MAX_FETCHED_INPUT_BYTES, resolveInput } from '../src/jobs/input.js'
import { JobStore, jobStorePaths } from '../src/jobs/store.js'

const providerKey = generateSecretKey()
const terms = { pubkey: getPublicKey(providerKey), secretKey: providerKey, priceMsat: () => 2000 }
const customerKey = generateSecretKey()
const now = Math.floor(Date.now() / 1000)

test('hole: a trailing dot (localhost., printer.local.) passed as a public host, and resolves to loopback', () => {
  for (const host of ['localhost.', 'LOCALHOST.', 'a.localhost.', 'printer.local.', 'localhost..'])
    expect(isPublicHost(host), host).toBe(false)
  const policy = { own: [], local: false }
  expect(reachable('ws://localhost.:7000', policy, ['ws:', 'wss:'])).toBe(false)
  expect(reachable('http://a.localhost./', policy, ['http:', 'https:'])).toBe(false)
})

test('hole: IPv6 forms that embed a private IPv4 (IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96) passed as public', () => {
  for (const url of [
    'ws://[::127.0.0.1]',
    'ws://[::10.0.0.1]',
    'ws://[64:ff9b::127.0.0.1]',
    'ws://[64:ff9b::a9fe:a9fe]'
  ])
    expect(reachable(url, { own: [], local: false }, ['ws:']), url).toBe(false)
  expect(reachable('ws://[64:ff9b::808:808]', { own: [], local: false }, ['ws:'])).toBe(true)
})

test('hole: a request dated in the future outlives its handled record (2 days) and is handled again after a restart', () => {
  const inputs = [{ data: 'hi', type: 'text' as const }]
  const future = buildRequest(
    { kind: 5302, inputs, provider: terms.pubkey, createdAt: now + 3 * 24 * 3600 },
    customerKey
  )
  expect(decide(future, terms, now)).toMatchObject({ act: 'ignore' })
  const skewed = buildRequest({ kind: 5302, inputs, provider: terms.pubkey, createdAt: now + 120 }, customerKey)
  expect(decide(skewed, terms, now).act).toBe('accept')
})

test('hole: each of 8 inputs had its own job timeout, so one request held a slot 8 times the timeout', async () => {
  const jobId = 'a'.repeat(64)
  const timeoutMs = 400
  const pool = {
    query: async () => [{ id: jobId, pubkey: 'c'.repeat(64), kind: 5050, tags: [], content: '' }],
    // each chained result comes at 3/4 of the timeout: 8 of them take 6 timeouts in all
    subscribe: (_filter: unknown, onevent: (e: unknown) => void) => {
      const late = {
        pubkey: 'd'.repeat(64),
        tags: [
          ['e', jobId],
          ['p', 'c'.repeat(64)]
        ],
        content: 'late'
      }
      const timer = setTimeout(() => onevent(late), (timeoutMs * 3) / 4)
      return { ready: Promise.resolve(), close: () => clearTimeout(timer) }
    }
  } as unknown as RelayPool
  const inputs = Array.from({ length: 8 }, () => ({ data: jobId, type: 'job' as const }))
  const request = parseRequest(buildRequest({ kind: 5050, inputs }, customerKey))
  const ctx = { pool, reach: { own: [], local: false }, signal: new AbortController().signal, timeoutMs }
  await expect(resolveInput(request, ctx)).rejects.toMatchObject({ reason: 'INPUT_INVALID' })
})

test('hole: a journal entry of the wrong shape (phase, price) is taken as it is, and crashes the start or is worked unpaid', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'review-jobs-'))
  const paths = jobStorePaths(join(dir, 'keys.json'), 'a')
  const event = buildRequest({ kind: 5050, inputs: [{ data: 'x', type: 'text' }] }, customerKey)
  const good = { event, phase: 'awaiting_payment', priceMsat: 2000, payAfter: false, invoice: null }
  const jobs = {
    ['1'.repeat(64)]: { ...good, phase: 7 },
    ['2'.repeat(64)]: { ...good, phase: 'free' },
    ['3'.repeat(64)]: { ...good, priceMsat: -1 },
    ['4'.repeat(64)]: { ...good, invoice: { bolt11: 5 } },
    ['5'.repeat(64)]: { ...good, phase: 'delivering', answers: 'x' },
    [event.id]: good
  }
  await writeFile(paths.journal, JSON.stringify({ version: 1, cursor: now, jobs }))
  const store = await JobStore.open(paths)
  try {
    expect(store.inFlight().map(([id]) => id)).toEqual([event.id])
  } finally {
    await store.close()
  }
})

test("hole: an event or chained job input's content had no bound (a url input's is MAX_FETCHED_INPUT_BYTES)", async () => {
  const big = 'x'.repeat(MAX_FETCHED_INPUT_BYTES + 1)
  const id = 'b'.repeat(64)
  const pool = {
    query: async () => [{ id, pubkey: 'c'.repeat(64), kind: 5050, tags: [], content: big }],
    subscribe: (_filter: unknown, onevent: (e: unknown) => void) => {
      queueMicrotask(() =>
        onevent({
          pubkey: 'd'.repeat(64),
          tags: [
            ['e', id],
            ['p', 'c'.repeat(64)]
          ],
          content: big
        })
      )
      return { ready: Promise.resolve(), close() {} }
    }
  } as unknown as RelayPool
  const ctx = { pool, reach: { own: [], local: false }, signal: new AbortController().signal, timeoutMs: 5000 }
  for (const type of ['event', 'job'] as const) {
    const request = parseRequest(buildRequest({ kind: 5050, inputs: [{ data: id, type }] }, customerKey))
    await expect(resolveInput(request, ctx), type).rejects.toMatchObject({ reason: 'INPUT_TOO_LARGE' })
  }
})

test("hole: a chained job's input was the first result anyone signed, so a stranger could answer first and feed the job", async () => {
  const provider = getPublicKey(generateSecretKey())
  const named = buildRequest(
    { kind: 5050, inputs: [{ data: 'first step', type: 'text' }], provider },
    generateSecretKey()
  )
  const result = (pubkey: string, content: string, p = named.pubkey) => ({
    pubkey,
    tags: [
      ['e', named.id],
      ['p', p]
    ],
    content
  })
  const pool = {
    query: async () => [named],
    subscribe: (_filter: unknown, onevent: (e: unknown) => void) => {
      queueMicrotask(() => {
        onevent(result(getPublicKey(generateSecretKey()), 'a stranger'))
        onevent(result(provider, 'to someone else', getPublicKey(generateSecretKey())))
        onevent(result(provider, 'the provider'))
      })
      return { ready: Promise.resolve(), close() {} }
    }
  } as unknown as RelayPool
  const ctx = { pool, reach: { own: [], local: false }, signal: new AbortController().signal, timeoutMs: 5000 }
  const request = parseRequest(buildRequest({ kind: 5051, inputs: [{ data: named.id, type: 'job' }] }, customerKey))
  expect((await resolveInput(request, ctx)).input).toBe('the provider')
})
