// --deny-path against every way of spelling a denied path (SPEC §6.2), through the real
// 2020117-agent bin: a paying raw customer writes each request target as raw bytes into a tunnel
// stream, and a TCP upstream records the request target it received, byte for byte. For every form,
// as a plain request and as a WebSocket upgrade, the agent either refuses it (400 or 403, and the
// upstream saw nothing), or forwards a target that is canonical (what the agent checked is what the
// upstream reads: no `\`, `#`, `//`, dot segments or decodable escapes left) and not under /admin.
//
// Old failure: http-proxy rebuilt the path with url.parse after the check, so `/\admin/secret`
// reached the upstream as `/admin/secret`, `/x/../admin` reached it un-normalised, and so on.

import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'
import { Dialer, RawCustomer } from './helpers/hostile-customer.js'
import { exchange, paySession, RecordingUpstream } from './helpers/paying-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
let upstream: RecordingUpstream
let agent: Proc
let customer: RawCustomer
let streamId = 0

beforeAll(async () => {
  upstream = new RecordingUpstream()
  const port = await upstream.listen()
  agent = spawnBin('agent', [
    net.flag,
    `--processor=http://127.0.0.1:${port}`,
    '--sats-per-minute=5',
    '--tick-seconds=60',
    '--deny-path=/admin',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  customer = await RawCustomer.open(dialer, ready.swarm_key)
  await paySession(customer, async (bolt11) =>
    Buffer.from((await net.devnet.wallet.payInvoice('customer', bolt11)).preimage, 'hex')
  )
})

afterAll(async () => {
  customer?.destroy()
  upstream?.close()
})

/** Spellings of /admin and paths under it, each of which some parser, proxy or upstream folds into /admin. */
const DENIED_FORMS = [
  '/admin',
  '/admin/secret',
  '/\\admin/secret',
  '/admin\\secret',
  '/%5cadmin',
  '/%5Cadmin/secret',
  '/admin#x',
  '/admin/secret#frag',
  '/public#/../admin',
  '//admin',
  '///admin/secret',
  '/%2fadmin',
  '/%2Fadmin/secret',
  '/public/..%2fadmin',
  '/x/../admin',
  '/x/y/../../admin/secret',
  '/%2e%2e/admin',
  '/x/%2E%2e/admin',
  '/x/.%2E/admin',
  '/./admin',
  '/admin/./secret',
  '/admin/.',
  // Node 20's own URL parser (Ada 2.9) leaves the dot segments of these in place.
  '/x:/.a/../../admin',
  '/x/.:/../../admin/secret',
  '/%61dmin',
  '/%61%64%6D%69%6e/secret',
  '/ADMIN',
  '/Admin/secret',
  '/admin?x=1',
  '/admin/?x=/public',
  '/admin\tx',
  '/admin%00',
  '/adm\u00e9in',
  '/admin\u00e9'
]

/** Targets the agent must forward, and the exact target the upstream must then receive. */
const FORWARDED: Array<[string, string]> = [
  ['/public/page', '/public/page'],
  ['/adminx', '/adminx'],
  ['/public/admin', '/public/admin'],
  ['/x/../public', '/public'],
  ['/public//a/./b/%2e%2e/c?q=a/../b//c', '/public/a/c?q=a/../b//c'],
  ['/%7Euser/%41bc', '/~user/Abc'],
  ['/file%3aname%c3%a9', '/file%3Aname%C3%A9'],
  ['/?', '/?'],
  ['/a?x=%2e%2e', '/a?x=%2e%2e']
]

function request(target: string, upgrade: boolean): Buffer {
  const head = upgrade
    ? `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`
    : `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`
  return Buffer.from(head, 'latin1')
}

/** What an upstream that decodes every escape and ignores case would take the path for. */
function loosePath(target: string): string {
  const path = target.split('?')[0] as string
  return decodeURIComponent(path).toLowerCase()
}

/** Canonical: nothing left that a parser downstream could fold differently from the agent. */
function expectCanonical(target: string): void {
  const path = target.split('?')[0] as string
  expect(target, target).not.toMatch(/[\\#\x00-\x20\x7f-\uffff]/)
  expect(path, target).not.toMatch(/\/\//)
  expect(path.split('/').slice(1), target).not.toContain('.')
  expect(path.split('/').slice(1), target).not.toContain('..')
  expect(path, target).not.toMatch(/%(2[dDeEfF]|5[cCfF]|7[eE]|[46][1-9a-fA-F]|[57][0-9aA]|3[0-9])/)
}

for (const upgrade of [false, true]) {
  const kind = upgrade ? 'WebSocket upgrade' : 'plain request'

  test(`${kind}: every spelling of /admin is refused with 400/403, or reaches the upstream canonical and outside /admin`, async () => {
    for (const form of DENIED_FORMS) {
      const before = upstream.received.length
      const res = await exchange(customer, ++streamId, request(form, upgrade))
      const seen = upstream.received.slice(before)
      if (res.status === 400 || res.status === 403) {
        expect(seen, `${JSON.stringify(form)} was refused ${res.status} but reached the upstream`).toEqual([])
        continue
      }
      // Forwarded: the upstream got exactly one request, and it is neither denied nor ambiguous.
      expect(seen, `${JSON.stringify(form)}: ${res.text.slice(0, 200)}`).toHaveLength(1)
      const target = (seen[0] as { target: string }).target
      expectCanonical(target)
      const loose = loosePath(target)
      expect(
        loose === '/admin' || loose.startsWith('/admin/'),
        `${JSON.stringify(form)} reached the upstream as ${target}`
      ).toBe(false)
    }
    expect(customer.isClosed).toBe(false)
    expect(agent.child.exitCode).toBeNull()
  })

  test(`${kind}: allowed targets reach the upstream in canonical form, exactly as checked`, async () => {
    for (const [form, expected] of FORWARDED) {
      const before = upstream.received.length
      const res = await exchange(customer, ++streamId, request(form, upgrade))
      expect(res.status, `${form}: ${res.text.slice(0, 200)}`).toBe(upgrade ? 101 : 200)
      expect(upstream.received.slice(before).map((r) => r.target)).toEqual([expected])
      expect(res.text).toContain(`upstream saw ${expected}`)
    }
  })
}

test('refusals say why: 400 BAD_REQUEST_TARGET for an ambiguous target, 403 PATH_DENIED for a denied one', async () => {
  const bad = await exchange(customer, ++streamId, request('/\\admin', false))
  expect(bad.status).toBe(400)
  expect(bad.text).toMatch(/"code":"BAD_REQUEST_TARGET"/)
  const denied = await exchange(customer, ++streamId, request('/x/../ADMIN/secret', false))
  expect(denied.status).toBe(403)
  expect(denied.text).toMatch(/"code":"PATH_DENIED"/)
  // A colon in a path is nothing special: `/public/http:/x` reaches the upstream as it is.
  const before = upstream.received.length
  const colon = await exchange(customer, ++streamId, request('/public/http:/x', false))
  expect(colon.status).toBe(200)
  expect(upstream.received.slice(before)).toEqual([{ target: '/public/http:/x', upgrade: false }])
})

test('a --deny-path rule that has no canonical form stops the agent at start with INVALID_FLAG', async () => {
  for (const rule of ['/a%2fb', '/a\\b', '/a?x=1']) {
    const bad = spawnBin('agent', [net.flag, '--processor=http://127.0.0.1:9', '--free', `--deny-path=${rule}`])
    expect(await bad.exited).toBe(2)
    expect(bad.stderr()).toMatch(/INVALID_FLAG: --deny-path must be a path such as \/admin/)
  }
})
