// The collector against a real relay (the devnet relay, in process): real signed events for a
// viewer with follows and for a few subjects, read back into the right buckets, with the bounds
// and the failure modes (a dead relay, a silent one) that a stranger's network brings.

import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { RelayPool } from '@2020117/nostr'
import { OPEN_POLICY, startRelay, type RunningRelay } from '@2020117/relay'

// The floods below are the reader's test, not the relay's: its rate limits stay out of the way.
const UNLIMITED_RATES = {
  eventsPerSecondPerPubkey: 1e6,
  eventBurstPerPubkey: 1e6,
  eventsPerSecondPerConnection: 1e6,
  eventBurstPerConnection: 1e6,
  reqsPerSecondPerConnection: 1e6,
  reqBurstPerConnection: 1e6
}
import { kinds, MAX_FOLLOWS, MAX_SIGNAL_EVENTS, TRUST_LABEL_NAMESPACE } from '@2020117/protocol'
import {
  buildReport,
  buildRevocation,
  buildVouch,
  collectSubjects,
  collectViewer,
  ReputationReader,
  type Graph,
  type SubjectEvents
} from '@2020117/reputation'

interface Key {
  sk: Uint8Array
  pk: string
}

function key(): Key {
  const sk = generateSecretKey()
  return { sk, pk: getPublicKey(sk) }
}

const T0 = Math.floor(Date.now() / 1000) - 100_000
let clock = 0
/** Strictly increasing created_at, so that "newest" is well defined in every test. */
const at = () => T0 + ++clock

function sign(k: Key, kind: number, tags: string[][], content = ''): Event {
  return finalizeEvent({ kind, created_at: at(), tags, content }, k.sk)
}

const [viewer, f1, f2, g, stranger, service, lnurlServer, other] = Array.from({ length: 8 }, key)
const [a, b, c, d] = Array.from({ length: 4 }, key)

let relay: RunningRelay
let second: RunningRelay
let pool: RelayPool
const pools: RelayPool[] = []

function poolOf(urls: string[]): RelayPool {
  const p = new RelayPool(urls)
  pools.push(p)
  return p
}

async function publish(events: Event[], to: RelayPool = pool, relays = 1): Promise<void> {
  for (let i = 0; i < events.length; i += 50) {
    const accepted = await Promise.all(events.slice(i, i + 50).map((e) => to.publish(e)))
    expect(accepted).toEqual(accepted.map(() => relays))
  }
}

const ids = (events: Event[]) => events.map((e) => e.id).sort()
const graph: () => Graph = () => ({
  viewer: viewer.pk,
  follows: new Set([f1.pk, f2.pk]),
  members: new Set([viewer.pk, f1.pk, f2.pk, g.pk]),
  services: new Set([service.pk])
})

/**
 * A relay that completes the WebSocket handshake and then never says a word: no EOSE, no CLOSED.
 * (One that never completes the handshake makes nostr-tools 2.25.2 throw an uncaught "WebSocket
 * was closed before the connection was established" at its connection timeout: the lead's to fix.)
 */
async function silentRelay(sockets: Set<Socket>): Promise<Server> {
  const server = createServer((_req, res) => res.writeHead(426).end())
  server.on('upgrade', (req, socket: Socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64')
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

// Every event of the shared scenario, by what it is, so that each test names what it expects.
const ev: Record<string, Event> = {}

beforeAll(async () => {
  // A contact list with more than MAX_FOLLOWS keys is larger than the default 64 KiB event.
  relay = await startRelay({
    policy: OPEN_POLICY,
    limits: { ...UNLIMITED_RATES, maxEventBytes: 256 * 1024, maxMessageBytes: 512 * 1024 }
  })
  second = await startRelay({ policy: OPEN_POLICY, limits: UNLIMITED_RATES })
  pool = poolOf([relay.url])
  Object.assign(ev, scenario())
  // The revoked vouch goes first: the relay refuses a vouch whose revocation it already holds.
  await publish([ev.revokedVouch as Event])
  await publish(Object.values(ev).filter((e) => e !== ev.duplicatedZap && e !== ev.revokedVouch))
  await publish([ev.duplicatedZap as Event], poolOf([relay.url, second.url]), 2)
})

afterAll(async () => {
  for (const p of pools) p.close()
  await relay?.close()
  await second?.close()
})

function scenario(): Record<string, Event> {
  const profileA = sign(a, kinds.Metadata, [], JSON.stringify({ name: 'a', lud16: 'a@127.0.0.1' }))
  const revokedVouch = buildVouch(b.pk, f2.sk, at())
  return {
    viewerContacts: sign(viewer, kinds.Contacts, [
      ['p', f1.pk],
      ['p', f2.pk],
      ['p', 'not a key'],
      ['p', viewer.pk]
    ]),
    viewerServices: sign(viewer, kinds.TrustedServiceList, [['30382:rank', service.pk, relay.url]]),
    f1Contacts: sign(f1, kinds.Contacts, [['p', g.pk]]),
    f2Contacts: sign(f2, kinds.Contacts, []),
    strangerContacts: sign(stranger, kinds.Contacts, [['p', viewer.pk]]),
    profileA,
    profileB: sign(b, kinds.Metadata, [], JSON.stringify({ name: 'b' })),
    profileD: sign(d, kinds.Metadata, [], JSON.stringify({ name: 'd' })),
    zapA: sign(lnurlServer, kinds.Zap, [
      ['p', a.pk],
      ['bolt11', 'lnbcrt1'],
      ['description', '{}']
    ]),
    duplicatedZap: sign(lnurlServer, kinds.Zap, [
      ['p', a.pk],
      ['bolt11', 'lnbcrt2'],
      ['description', '{}']
    ]),
    zapB: sign(lnurlServer, kinds.Zap, [
      ['p', b.pk],
      ['P', a.pk]
    ]),
    zapD: sign(lnurlServer, kinds.Zap, [['p', d.pk]]),
    reviewA: sign(
      f1,
      kinds.Review,
      [
        ['d', 'f'.repeat(64)],
        ['p', a.pk],
        ['rating', '5'],
        ['k', '5100']
      ],
      'fast'
    ),
    reviewD: sign(f1, kinds.Review, [
      ['d', 'e'.repeat(64)],
      ['p', d.pk],
      ['rating', '1'],
      ['k', '5100']
    ]),
    vouchA: buildVouch(a.pk, f1.sk, at()),
    vouchB: buildVouch(b.pk, stranger.sk, at()),
    vouchD: buildVouch(d.pk, f1.sk, at()),
    assertionA: sign(service, kinds.TrustAssertion, [
      ['d', a.pk],
      ['rank', '80']
    ]),
    labelB: sign(f2, kinds.Label, [
      ['L', TRUST_LABEL_NAMESPACE],
      ['l', 'trusted', TRUST_LABEL_NAMESPACE],
      ['p', b.pk]
    ]),
    otherLabelB: sign(f2, kinds.Label, [
      ['L', 'ugc'],
      ['l', 'funny', 'ugc'],
      ['p', b.pk]
    ]),
    reportB: buildReport(b.pk, 'spam', 'took the money', f1.sk, at()),
    reportA: buildReport(a.pk, 'other', '', stranger.sk, at()),
    revokedVouch,
    revocationB: buildRevocation(b.pk, f2.sk, at()),
    // Deletions by someone who said nothing about any subject asked.
    otherDeletion: sign(other, kinds.Deletion, [['e', profileA.id]])
  }
}

describe('collectViewer', () => {
  test("reads the viewer's contact list and services, and its follows' contact lists, nobody else's", async () => {
    const got = await collectViewer(pool, viewer.pk)
    expect(ids(got.contacts)).toEqual(ids([ev.viewerContacts, ev.f1Contacts, ev.f2Contacts] as Event[]))
    expect(ids(got.serviceLists)).toEqual([ev.viewerServices?.id])
  })

  test('an anonymous viewer reads nothing', async () => {
    expect(await collectViewer(pool, null)).toEqual({ contacts: [], serviceLists: [] })
  })

  test('a follow list longer than MAX_FOLLOWS is read up to MAX_FOLLOWS keys', async () => {
    const w = key()
    const last = key()
    const beyond = key()
    const fillers = Array.from({ length: MAX_FOLLOWS - 2 }, () => getPublicKey(generateSecretKey()))
    const follows = [f1.pk, 'f'.repeat(63), ...fillers, last.pk, beyond.pk, key().pk]
    const lastContacts = sign(last, kinds.Contacts, [])
    await publish([
      sign(
        w,
        kinds.Contacts,
        follows.map((p) => ['p', p])
      ),
      lastContacts,
      sign(beyond, kinds.Contacts, [])
    ])
    const got = await collectViewer(pool, w.pk)
    const authors = got.contacts.map((e) => e.pubkey)
    expect(authors).toContain(last.pk)
    expect(authors).toContain(f1.pk)
    expect(authors).not.toContain(beyond.pk)
  })
})

describe('collectSubjects', () => {
  let got: Map<string, SubjectEvents>
  beforeAll(async () => {
    got = await collectSubjects(poolOf([relay.url, second.url]), [a.pk, b.pk, c.pk], graph())
  })
  const bucket = (k: Key) => got.get(k.pk) as SubjectEvents

  test('returns a bucket for every subject asked, and none for one not asked', () => {
    expect([...got.keys()]).toEqual([a.pk, b.pk, c.pk])
  })

  test("each subject's events land in its own bucket, newest first", () => {
    expect(ids(bucket(a).profiles)).toEqual(ids([ev.profileA] as Event[]))
    expect(ids(bucket(a).zaps)).toEqual(ids([ev.zapA, ev.duplicatedZap] as Event[]))
    expect(ids(bucket(a).reviews)).toEqual([ev.reviewA?.id])
    expect(ids(bucket(a).declarations)).toEqual(ids([ev.vouchA, ev.assertionA] as Event[]))
    expect(ids(bucket(a).reports)).toEqual([ev.reportA?.id])
    expect(ids(bucket(b).profiles)).toEqual([ev.profileB?.id])
    expect(ids(bucket(b).zaps)).toEqual([ev.zapB?.id])
    expect(ids(bucket(b).declarations)).toEqual(ids([ev.vouchB, ev.labelB] as Event[]))
    expect(ids(bucket(b).reports)).toEqual([ev.reportB?.id])
    for (const events of Object.values(bucket(a))) {
      expect(events.map((e: Event) => e.created_at)).toEqual(
        [...events.map((e: Event) => e.created_at)].sort().reverse()
      )
    }
  })

  test("a subject's bucket holds the deletions of its declarations' and reports' authors only", () => {
    expect(ids(bucket(b).deletions)).toEqual([ev.revocationB?.id])
    expect(bucket(a).deletions).toEqual([])
  })

  test('an event read from two relays, or by two filters, is there once', () => {
    expect(bucket(a).zaps.filter((e) => e.id === ev.duplicatedZap?.id)).toHaveLength(1)
    // A vouch matches both `#d` and `#p`, and the in-graph authors' filter too.
    expect(bucket(a).declarations.filter((e) => e.id === ev.vouchA?.id)).toHaveLength(1)
  })

  test('a label in another namespace and events about subjects not asked are left out', () => {
    const all = [...got.values()].flatMap((s) => Object.values(s).flat()).map((e) => e.id)
    for (const left of [ev.otherLabelB, ev.profileD, ev.zapD, ev.reviewD, ev.vouchD, ev.otherDeletion]) {
      expect(all).not.toContain(left?.id)
    }
  })

  test('a subject nothing is said about gets empty lists', () => {
    expect(bucket(c)).toEqual({ profiles: [], zaps: [], reviews: [], declarations: [], reports: [], deletions: [] })
  })
})

describe('collectSubjects when relays fail', () => {
  let silent: Server
  let silentUrl: string
  const sockets = new Set<Socket>()
  beforeAll(async () => {
    silent = await silentRelay(sockets)
    silentUrl = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })

  test('a dead relay in the pool does not keep the others from answering', async () => {
    const dead = await startRelay({ policy: OPEN_POLICY, limits: UNLIMITED_RATES })
    await dead.close()
    const got = await collectSubjects(poolOf([dead.url, relay.url]), [a.pk], graph())
    expect(ids(got.get(a.pk)?.zaps ?? [])).toEqual(ids([ev.zapA, ev.duplicatedZap] as Event[]))
  })

  test("a relay that never answers keeps nobody else's answer from being read", async () => {
    const got = await collectSubjects(poolOf([silentUrl, relay.url]), [b.pk], graph(), { maxWaitMs: 1000 })
    expect(ids(got.get(b.pk)?.reports ?? [])).toEqual([ev.reportB?.id])
  })

  test('a query whose relays never all finish ends at maxWaitMs with what arrived', async () => {
    let closed = 0
    const hanging = {
      relays: ['ws://127.0.0.1:1'],
      subscribe: (f: { kinds?: number[] }, onevent: (e: Event) => void) => {
        if (f.kinds?.includes(kinds.Zap)) onevent(ev.zapA as Event)
        return { ready: new Promise(() => undefined), close: () => closed++ }
      }
    } as unknown as RelayPool
    const got = await collectSubjects(hanging, [a.pk], graph(), { maxWaitMs: 200 })
    expect(got.get(a.pk)?.zaps.map((e) => e.id)).toEqual([ev.zapA?.id])
    expect(closed).toBeGreaterThan(0)
  })

  test('a pool whose queries throw reads as nothing, with a warning, and does not throw', async () => {
    const warnings: string[] = []
    const broken = {
      relays: [],
      subscribe: () => {
        throw new Error('boom')
      }
    } as unknown as RelayPool
    const got = await collectSubjects(broken, [a.pk], graph(), { onWarning: (m) => warnings.push(m) })
    expect(got.get(a.pk)?.zaps).toEqual([])
    expect(warnings.length).toBeGreaterThan(0)
  })
})

describe('collectSubjects bounds', () => {
  test("a flood about one subject pushes out neither another subject's signals nor the graph's", async () => {
    const [flooded, quiet] = [key(), key()]
    const inGraph = buildReport(flooded.pk, 'spam', '', f1.sk, at())
    const quietReport = buildReport(quiet.pk, 'spam', '', stranger.sk, at())
    // More than the relay's 500 per filter, all newer than the two reports that must be found.
    const sybil = key()
    const flood = Array.from({ length: 505 }, () => buildReport(flooded.pk, 'spam', '', sybil.sk, at()))
    await publish([inGraph, quietReport, ...flood])
    const got = await collectSubjects(pool, [flooded.pk, quiet.pk], graph())
    expect(got.get(quiet.pk)?.reports.map((e) => e.id)).toEqual([quietReport.id])
    expect(got.get(flooded.pk)?.reports.map((e) => e.id)).toContain(inGraph.id)
  }, 120_000)

  test('each category keeps at most MAX_SIGNAL_EVENTS events per subject, the newest', async () => {
    // No relay here answers more than 500 events per filter: two relays, stubbed, that hand over more
    // (unsigned: the collector checks nothing), oldest first.
    const zaps = Array.from({ length: MAX_SIGNAL_EVENTS + 50 }, (_, i) => ({
      id: i.toString(16).padStart(64, '0'),
      pubkey: lnurlServer.pk,
      kind: kinds.Zap,
      created_at: T0 + i,
      tags: [['p', a.pk]],
      content: '',
      sig: ''
    }))
    const generous = {
      relays: ['ws://127.0.0.1:1', 'ws://127.0.0.1:2'],
      subscribe: (f: { kinds?: number[] }, onevent: (e: Event) => void) => {
        if (f.kinds?.includes(kinds.Zap)) zaps.forEach(onevent)
        return { ready: Promise.resolve(), close: () => undefined }
      }
    } as unknown as RelayPool
    const got = await collectSubjects(generous, [a.pk], graph())
    const kept = got.get(a.pk)?.zaps ?? []
    expect(kept).toHaveLength(MAX_SIGNAL_EVENTS)
    expect(kept[0]?.created_at).toBe(T0 + MAX_SIGNAL_EVENTS + 49)
    expect(kept.at(-1)?.created_at).toBe(T0 + 50)
  })
})

describe('ReputationReader', () => {
  test('returns a reputation for each subject asked, once each', async () => {
    const reader = new ReputationReader({ pool, viewer: viewer.pk, network: 'regtest', maxWaitMs: 2000 })
    const got = await reader.rate([a.pk, b.pk, c.pk, a.pk])
    expect([...got.keys()].sort()).toEqual([a.pk, b.pk, c.pk].sort())
    for (const [pubkey, reputation] of got) {
      expect(reputation.pubkey).toBe(pubkey)
      expect(typeof reputation.score).toBe('number')
    }
  })

  test('one subject whose LNURL server never answers is rated without zaps, and does not hold the others', async () => {
    // A provider controls its own LNURL server: hanging it must cost only its own zaps, within the
    // subject's bound, so that one slow subject never leaves the others of its batch unrated.
    const hanging = createServer(() => {})
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
    const { port } = hanging.address() as AddressInfo
    const slow = key()
    const trusted = key()
    await publish([
      sign(slow, 0, [], JSON.stringify({ lud16: `slow@127.0.0.1:${port}` })),
      sign(viewer, 30382, [
        ['d', trusted.pk],
        ['p', trusted.pk],
        ['assertion', 'trusted']
      ])
    ])
    const warnings: string[] = []
    const reader = new ReputationReader({
      pool,
      viewer: viewer.pk,
      network: 'regtest',
      maxWaitMs: 60_000,
      subjectWaitMs: 300,
      onWarning: (m) => warnings.push(m)
    })
    try {
      const got = await reader.rate([slow.pk, trusted.pk])
      expect(got.get(slow.pk)?.zaps.count).toBe(0)
      expect(got.get(trusted.pk)?.wot.trustedByYourFollows).toBe(1)
      expect(warnings.join('\n')).toMatch(/no zap counts for .*: its LNURL server did not answer within 0\.3 s/)
    } finally {
      hanging.closeAllConnections()
      hanging.close()
    }
  }, 30_000)
})
