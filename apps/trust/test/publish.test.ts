// vouch, revoke, report and show on the local network, judged by what the relay holds: the events
// the bin published (their kinds and tags, SPEC §11.2 and §11.4) and, for show, the reputation of a
// provider as a viewer who follows the voucher sees it.

import { afterAll, expect, test } from 'vitest'
import { startTestNetwork } from '@2020117/testkit'
import { kinds } from '@2020117/protocol'
import { people, stranger } from './helpers/people.js'

const net = await startTestNetwork({ teardown: afterAll })
const { viewer, voucher, pool } = await people(net, ['viewer', 'voucher'])

async function ok(run: ReturnType<typeof viewer.trust>): Promise<Record<string, any>> {
  expect(await run.exited, run.stderr()).toBe(0)
  return JSON.parse(run.stdout())
}

test('vouch publishes a kind 30382 "trusted" assertion for the provider; --json says which and how many relays took it', async () => {
  const provider = stranger()
  const out = await ok(voucher.trust(['vouch', provider.npub, '--json']))
  expect(out).toEqual({
    command: 'vouch',
    subject: provider.npub,
    event_id: expect.stringMatching(/^[0-9a-f]{64}$/),
    kind: 30382,
    relays_took: 1,
    relays_asked: 1
  })
  const [event] = await pool.query({ ids: [out.event_id] })
  expect(event).toMatchObject({ kind: kinds.TrustAssertion, pubkey: voucher.pubkey })
  expect(event!.tags).toEqual([
    ['d', provider.pubkey],
    ['p', provider.pubkey],
    ['assertion', 'trusted']
  ])
})

test('revoke publishes a kind 5 naming the vouch address, and the relay drops the vouch', async () => {
  const provider = stranger()
  const vouch = await ok(voucher.trust(['vouch', provider.pubkey, '--json']))
  const out = await ok(voucher.trust(['revoke', provider.npub, '--json']))
  expect(out).toMatchObject({ command: 'revoke', subject: provider.npub, kind: 5, relays_took: 1, relays_asked: 1 })
  const [deletion] = await pool.query({ ids: [out.event_id] })
  expect(deletion!.pubkey).toBe(voucher.pubkey)
  expect(deletion!.tags).toContainEqual(['a', `30382:${voucher.pubkey}:${provider.pubkey}`])
  expect(await pool.query({ ids: [vouch.event_id] })).toEqual([])
})

test('report publishes a NIP-56 kind 1984 with the type in the p tag and the reason as content', async () => {
  const provider = stranger()
  const run = viewer.trust(['report', provider.npub, '--type=spam', '--reason=took the money, returned nothing'])
  expect(await run.exited, run.stderr()).toBe(0)
  expect(run.stdout()).toMatch(
    /^reported \(spam\) npub1\S+: event [0-9a-f]{64} \(kind 1984\), taken by 1 of 1 relay\(s\)\n$/
  )
  const [event] = await pool.query({ kinds: [kinds.Report], authors: [viewer.pubkey], '#p': [provider.pubkey] })
  expect(event!.tags).toEqual([['p', provider.pubkey, 'spam']])
  expect(event!.content).toBe('took the money, returned nothing')
})

test('show --json prints every term of the reputation, for our identity as viewer (or nobody with --anonymous)', async () => {
  const provider = stranger()
  const out = await ok(viewer.trust(['show', provider.npub, '--json']))
  expect(out).toEqual({
    npub: provider.npub,
    viewer: viewer.npub,
    network: 'regtest',
    pubkey: provider.pubkey,
    score: 0,
    flagged: false,
    wot: { trusted_by: 0, trusted_by_your_follows: 0, trusted_by_your_graph: 0 },
    zaps: { total_sats: 0, count: 0, in_graph_sats: 0 },
    reviews: { verified: 0, unverified: 0, avg: null },
    reports: { in_graph: 0, total: 0, flagged: false },
    jobs_completed: 0,
    assertions: [],
    terms: { trust: 0, zaps: 0, jobs: 0, rating: 0 },
    evidence: { vouches: [], zaps: [], reviews_verified: [], reviews_unverified: [], reports: [], assertions: [] }
  })
  const anonymous = await ok(viewer.trust(['show', provider.npub, '--anonymous', '--json']))
  expect(anonymous.viewer).toBeNull()
})

test('show prints one line per term with its points', async () => {
  const provider = stranger()
  const run = viewer.trust(['show', provider.npub])
  expect(await run.exited, run.stderr()).toBe(0)
  const lines = run.stdout().trimEnd().split('\n')
  expect(lines[0]).toBe(`${provider.npub} (as ${viewer.npub} sees it, on regtest)`)
  expect(lines[1]).toBe('score 0.0')
  expect(lines.slice(2).map((l) => l.trim().split(/\s+/)[0])).toEqual([
    'trust',
    'zaps',
    'jobs',
    'rating',
    'reports',
    'ranks'
  ])
  expect(lines[2]).toMatch(/^ {2}trust +0\.0 {2}trusted by 0: 0 you follow, 0 in your graph$/)
})

// NEEDS the real compute and collect (helpers "core" and "collect"): with today's placeholders every
// subject scores 0 and nothing is read, so the assertions on counts, points and evidence below fail
// until they land. What this test covers: a vouch by someone the viewer follows is counted by show,
// with the vouch's event id as evidence, and the revocation takes it away again.
test('a vouch by someone the viewer follows counts in show, with its event as evidence; revoke removes it', async () => {
  const provider = stranger()
  await viewer.publish({ kind: kinds.Contacts, tags: [['p', voucher.pubkey]], content: '' })
  const vouch = await ok(voucher.trust(['vouch', provider.npub, '--json']))
  const seen = await ok(viewer.trust(['show', provider.npub, '--json']))
  expect(seen.wot).toMatchObject({ trusted_by: 1, trusted_by_your_follows: 1 })
  expect(seen.terms.trust).toBe(100)
  expect(seen.score).toBe(100)
  expect(seen.evidence.vouches).toEqual([vouch.event_id])
  const human = viewer.trust(['show', provider.npub])
  expect(await human.exited).toBe(0)
  expect(human.stdout()).toMatch(
    new RegExp(`\\n {2}trust +100\\.0 {2}trusted by 1: 1 you follow.*evidence: ${vouch.event_id}\\n`)
  )

  await ok(voucher.trust(['revoke', provider.npub, '--json']))
  const after = await ok(viewer.trust(['show', provider.npub, '--json']))
  expect(after.wot.trusted_by).toBe(0)
  expect(after.terms.trust).toBe(0)
  expect(after.evidence.vouches).toEqual([])
}, 120_000) // two kinds priced at 20 bits (the follow list, the revocation): each seconds to tens of seconds of mining
