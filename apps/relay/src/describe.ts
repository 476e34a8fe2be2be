// What the relay says when it is up: one JSON object (--json), or lines that tell the person who
// runs it what it refuses, in the words of its refusals (pow:, blocked:, auth-required:, …).

import { formatKindRanges, relayInfoUrl } from '@2020117/protocol'
import type { RunningRelay } from '@2020117/relay'
import type { Settings } from './options.js'

export function readyEvent(relay: RunningRelay, s: Settings): Record<string, unknown> {
  return {
    event: 'ready',
    url: relay.url,
    host: relay.host,
    port: relay.port,
    publicUrl: s.publicUrl ?? relay.url,
    db: s.db,
    policy: s.policy,
    limits: s.limits
  }
}

export function readyLines(relay: RunningRelay, s: Settings): string[] {
  const p = s.policy
  const l = s.limits
  const pad = (name: string) => name.padEnd(10)
  return [
    `2020117-relay ready at ${relay.url} (NIP-11: ${relayInfoUrl(relay.url)})`,
    ...(s.publicUrl ? [`${pad('public')}${s.publicUrl} (the URL NIP-42 authentication must name)`] : []),
    `${pad('database')}${s.db}`,
    `${pad('kinds')}${p.acceptedKinds ? `${formatKindRanges(p.acceptedKinds)}; any other kind is refused (blocked:)` : 'any kind'}`,
    `${pad('pow')}${powLine(s)}`,
    ...(p.powExempt.length ? [`${pad('')}excused: ${p.powExempt.length} author(s) (--pow-exempt)`] : []),
    `${pad('auth')}${authLine(p.auth)}`,
    `${pad('writers')}${p.writers ? `only ${p.writers.length} author(s); anyone else is refused (blocked:)` : 'anyone'}`,
    `${pad('retention')}${p.retentionSeconds === null ? 'events are kept' : `regular events older than ${duration(p.retentionSeconds)} are deleted`}`,
    `${pad('rates')}events ${l.eventsPerSecondPerPubkey}/s (burst ${l.eventBurstPerPubkey}) per author, ${l.eventsPerSecondPerConnection}/s (burst ${l.eventBurstPerConnection}) per connection; REQ ${l.reqsPerSecondPerConnection}/s (burst ${l.reqBurstPerConnection}) per connection; past them: rate-limited:`,
    `${pad('')}at most ${l.maxConnectionsPerAddress} connections per address (loopback exempt)`,
    'Ctrl-C (or SIGTERM) stops it.'
  ]
}

/** The warning for a relay that anyone on the network can reach: allowed, never silent. */
export function exposedLine(host: string): string {
  return `warning: listening on ${host}, not loopback: any machine that can reach this one can use the relay`
}

function powLine(s: Settings): string {
  const { pow, minPow } = s.policy
  const rules = pow.map((r) => `${formatKindRanges(r.kinds)}: ${r.bits} bits`)
  const floor = minPow > 0 ? `every kind at least ${minPow} bits` : 'other kinds free'
  const parts = rules.length ? [...rules, floor] : [minPow > 0 ? floor : 'none']
  const refused = rules.length || minPow > 0 ? ' (committed in the nonce tag; less is refused: pow:)' : ''
  return parts.join('; ') + refused
}

function authLine(auth: Settings['policy']['auth']): string {
  if (auth === 'off') return 'off (NIP-42 not required)'
  const writes = 'an event is taken only from a connection authenticated (NIP-42) as its author (auth-required:)'
  return auth === 'writes' ? writes : `${writes}; wallet messages (23194/23195) go only to their author or p`
}

function duration(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60]
  ] as const)
    if (seconds % size === 0) return `${seconds / size}${unit}`
  return `${seconds}s`
}
