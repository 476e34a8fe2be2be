// 2020117-trust's flags: every subcommand's --help, and the mistakes refused as usage errors (exit 2)
// before anything is published, without a secret echoed; a relay that takes nothing is exit 3.

import { createServer } from 'node:net'
import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { people, stranger } from './helpers/people.js'

const net = await startTestNetwork({ teardown: afterAll })
const { me, pool } = await people(net, ['me'])
const provider = stranger()

const OWN_FLAGS: Record<string, string[]> = {
  show: ['--anonymous', '--nwc', '--network'],
  vouch: [],
  revoke: [],
  report: ['--type', '--reason'],
  review: ['--rating', '--job', '--session', '--kind', '--text', '--bolt11', '--preimage', '--nwc', '--network']
}
const SHARED = [
  '--agent',
  '--keys-file',
  '--devnet',
  '--relays',
  '--timeout',
  '--pow-timeout',
  '--json',
  '--verbose',
  '--log-level'
]

test('2020117-trust --help lists every subcommand and every flag, with the exit statuses', async () => {
  const help = spawnBin('trust', ['--help'])
  expect(await help.exited).toBe(0)
  for (const command of Object.keys(OWN_FLAGS)) expect(help.stdout()).toContain(`2020117-trust ${command} NPUB`)
  for (const flag of [...Object.values(OWN_FLAGS).flat(), ...SHARED]) expect(help.stdout()).toContain(flag)
  expect(help.stdout()).toMatch(/--rating=N +review: the rating, 1 to 5/)
  expect(help.stdout()).toMatch(/Exit status: 0 done; 1 an error .*; 2 a usage error; 3 no relay took the event/)
})

test.each(Object.entries(OWN_FLAGS))(
  '2020117-trust %s --help shows its own flags and the shared ones',
  async (command, own) => {
    const help = spawnBin('trust', [command, '--help'])
    expect(await help.exited).toBe(0)
    expect(help.stdout()).toMatch(new RegExp(`^2020117-trust ${command}: `))
    const flags = help.stdout().split('Flags:')[1]!.split('\n\n')[0]!
    const names = [...flags.matchAll(/--([a-z0-9-]+)/g)].map((m) => `--${m[1]}`).filter((n) => n !== '--help')
    expect(new Set(names)).toEqual(new Set([...own, ...SHARED]))
    expect(help.stdout()).toMatch(/4 no valid proof of payment for the review/)
  }
)

const refusals: Array<{ why: string; args: string[]; code: string; message: RegExp }> = [
  { why: 'no subcommand', args: ['--verbose'], code: 'MISSING_ARGUMENT', message: /say what to do: show, vouch/ },
  { why: 'an unknown subcommand', args: ['like', provider.npub], code: 'UNEXPECTED_ARGUMENT', message: /"like"/ },
  { why: 'no NPUB', args: ['vouch'], code: 'MISSING_ARGUMENT', message: /give the provider's npub/ },
  { why: 'two NPUBs', args: ['vouch', provider.npub, provider.npub], code: 'UNEXPECTED_ARGUMENT', message: /npub1/ },
  { why: 'no public key', args: ['vouch', 'npub1nope'], code: 'INVALID_ARGUMENTS', message: /not a Nostr public key/ },
  {
    why: 'a report without --type',
    args: ['report', provider.npub],
    code: 'MISSING_FLAG',
    message: /--type is required/
  },
  {
    why: 'a report type NIP-56 does not have',
    args: ['report', provider.npub, '--type=boring'],
    code: 'INVALID_FLAG',
    message: /--type must be one of nudity, malware, profanity, illegal, spam, impersonation, other/
  },
  {
    why: 'a review without --rating',
    args: ['review', provider.npub, `--job=${'a'.repeat(64)}`],
    code: 'MISSING_FLAG',
    message: /--rating is required/
  },
  {
    why: 'a rating of 6',
    args: ['review', provider.npub, '--rating=6', `--job=${'a'.repeat(64)}`],
    code: 'INVALID_FLAG',
    message: /--rating must be at most 5/
  },
  {
    why: 'a review of both a job and a session',
    args: ['review', provider.npub, '--rating=5', `--job=${'a'.repeat(64)}`, `--session=${'b'.repeat(32)}`],
    code: 'INVALID_ARGUMENTS',
    message: /exactly one of --job=ID and --session=ID/
  },
  {
    why: 'a review of neither',
    args: ['review', provider.npub, '--rating=5'],
    code: 'INVALID_ARGUMENTS',
    message: /exactly one of --job=ID and --session=ID/
  },
  {
    why: 'a session id that is no session id',
    args: ['review', provider.npub, '--rating=5', `--session=${'b'.repeat(64)}`],
    code: 'INVALID_FLAG',
    message: /--session must be a session id \(32 hex\)/
  },
  {
    why: '--bolt11 without --preimage',
    args: ['review', provider.npub, '--rating=5', `--job=${'a'.repeat(64)}`, '--bolt11=lnbcrt1'],
    code: 'INVALID_ARGUMENTS',
    message: /--bolt11 and --preimage go together/
  }
]

test.each(refusals)('refused as a usage error, nothing published: $why', async ({ args, code, message }) => {
  const run = me.trust([...args, '--json'])
  expect(await run.exited, run.stderr()).toBe(2)
  expect(JSON.parse(run.stdout())).toEqual({ ok: false, error: { code, message: expect.stringMatching(message) } })
  expect(await pool.query({ authors: [me.pubkey] }, 2000)).toEqual([])
})

test('our own private key given as NPUB is refused, and never printed', async () => {
  const privkey = Buffer.from(me.secretKey).toString('hex')
  const run = me.trust(['vouch', privkey, '--json'])
  expect(await run.exited).toBe(2)
  expect(JSON.parse(run.stdout()).error.code).toBe('PRIVATE_KEY_GIVEN')
  expect(run.stdout() + run.stderr()).not.toContain(privkey)
})

test('no relay taking the event is NOT_PUBLISHED, exit 3, with the relays named', async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve)) // a port nothing listens on
  const relay = `ws://127.0.0.1:${port}`
  const run = spawnBin('trust', ['vouch', provider.npub, `--relays=${relay}`, '--timeout=2', '--json'])
  expect(await run.exited, run.stderr()).toBe(3)
  const { error } = JSON.parse(run.stdout())
  expect(error.code).toBe('NOT_PUBLISHED')
  expect(error.message).toMatch(new RegExp(`no relay took the vouch \\(${relay}/?\\): nothing was published`))
})
