// Where a stranger may send the provider's machine: the relays a request names for its answers
// and the URLs of its `url` inputs. A request is anyone's, so a name such as ws://127.0.0.1:7000 or
// http://192.168.1.1/ would make the provider talk to its own machine or its own LAN on a
// stranger's behalf. Only the provider's own relays, and hosts that are neither loopback, private
// nor link-local, are reached, unless the agent runs on the local network (--devnet), where
// everything is loopback.
//
// Invariant: the check is on the URL's literal host (an IP literal, `localhost`, `*.local`); a
// public name that resolves to a private address is not caught here (no DNS is done).

import { isIP } from 'node:net'
import { MAX_JOB_RELAYS } from '@2020117/protocol'

export interface ReachPolicy {
  /** The provider's own relays: always allowed. */
  own: string[]
  /** Loopback and private hosts allowed (the local network). */
  local: boolean
}

/** The relays that get the answers to a request: ours, then those it names that may be reached; at most 8. */
export function answerRelays(requested: string[], policy: ReachPolicy): string[] {
  const own = new Set(policy.own.map(normal))
  // One of ours under another spelling (a trailing slash) is ours: it is published to once, by our pool.
  const theirs = requested.filter((url) => !own.has(normal(url)) && reachable(url, policy, ['ws:', 'wss:']))
  return [...new Set([...policy.own, ...theirs])].slice(0, MAX_JOB_RELAYS)
}

/** Whether `url` (of one of `protocols`) may be dialled under `policy`. */
export function reachable(url: string, policy: ReachPolicy, protocols: string[]): boolean {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return false
  }
  if (!protocols.includes(u.protocol)) return false
  return policy.local || isPublicHost(u.hostname)
}

/** False for loopback, private, link-local, unspecified and multicast addresses, and local names. */
export function isPublicHost(hostname: string): boolean {
  // A name's trailing dots are the DNS root: `localhost.` is `localhost` to a resolver.
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.+$/, '')
  if (host === '' || host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local')) return false
  const family = isIP(host)
  if (family === 4) return isPublicV4(host)
  if (family === 6) return isPublicV6(host)
  return true
}

function isPublicV4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number]
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false
  if (a === 169 && b === 254) return false
  if (a === 172 && b >= 16 && b <= 31) return false
  if (a === 192 && b === 168) return false
  if (a === 100 && b >= 64 && b <= 127) return false // carrier-grade NAT
  return true
}

function isPublicV6(ip: string): boolean {
  if (ip === '::' || ip === '::1') return false
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip)
  if (mapped) return isPublicV4(mapped[1]!)
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(ip)) return false // a mapped v4 in hex: refuse, do not guess
  // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry a v4 address: judge that one.
  const embedded = /^(?:64:ff9b:|:):([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip)
  if (embedded) return isPublicV4(v4Of(embedded[1]!, embedded[2]!))
  const first = Number.parseInt(ip.split(':')[0] || '0', 16)
  if ((first & 0xfe00) === 0xfc00) return false // unique local fc00::/7
  if ((first & 0xffc0) === 0xfe80) return false // link-local fe80::/10
  if ((first & 0xff00) === 0xff00) return false // multicast
  return true
}

function v4Of(high: string, low: string): string {
  const [h, l] = [Number.parseInt(high, 16), Number.parseInt(low, 16)]
  return [h >> 8, h & 0xff, l >> 8, l & 0xff].join('.')
}

function normal(url: string): string {
  try {
    return new URL(url).href
  } catch {
    return url
  }
}
