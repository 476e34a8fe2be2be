// Finding providers: every peer on the kind's topic (or the one provider asked for) is asked for
// its skill and price over the session channel; what comes back is a list of offers to choose from.

import { once } from 'node:events'
import { SessionChannel, type SkillResponse } from '@2020117/protocol'
import { SwarmError, type Connection, type PeerSwarm } from '@2020117/swarm'
import { npubOf, verifyBinding, type NostrError } from '@2020117/nostr'
import { peerText, type Logger } from '@2020117/cli'

export const SOFTWARE = '2020117-session/0.1.0'

export interface Candidate {
  /** The provider's Nostr pubkey (hex), proven by its binding; '' if it proves none. */
  pubkey: string
  conn: Connection
  channel: SessionChannel
  swarmKey: string
  skill: SkillResponse
  manifest: Record<string, unknown>
  name: string
}

export interface DiscoverOptions {
  kind: number
  /** Dial this provider's swarm key instead of searching the topic. */
  provider?: Uint8Array
  /** The Nostr pubkey (hex) the provider must prove, when the customer asked for one. */
  expectedPubkey?: string
  /** Swarm keys of providers found on Nostr relays, dialled besides the topic. */
  alsoDial?: Uint8Array[]
  timeoutMs: number
  /** After the first answer, how long to wait for more before choosing. */
  settleMs: number
  log: Logger
}

export async function discover(swarm: PeerSwarm, opts: DiscoverOptions): Promise<Candidate[]> {
  const found: Candidate[] = []
  let onFirst = () => {}
  let refusal: NostrError | null = null
  const ask = (conn: Connection) =>
    askSkill(conn, opts.kind, opts.expectedPubkey ?? null).then(
      (c) => {
        if (!c) return
        found.push(c)
        opts.log.debug('provider answered', { key: c.swarmKey.slice(0, 16), name: c.name })
        if (found.length === 1) onFirst()
      },
      (err) => {
        if ((err as NostrError).code?.startsWith('IDENTITY_')) {
          refusal = err as NostrError
          opts.log.warn(`refused a peer: ${(err as Error).message}`)
        } else opts.log.debug('a peer did not answer', { error: (err as Error).message })
      }
    )

  if (opts.provider) {
    const conn = await swarm.connectTo(
      opts.provider,
      opts.timeoutMs,
      `provider ${Buffer.from(opts.provider).toString('hex').slice(0, 16)}…`
    )
    await ask(conn)
    // The one provider asked for failed to prove who it is: that is the answer, not "not found".
    if (found.length === 0 && refusal) throw refusal
    return found
  }

  swarm.on('connection', ask)
  for (const conn of swarm.connections) void ask(conn)
  swarm.lookup(opts.kind)
  for (const key of opts.alsoDial ?? []) swarm.dial(key)
  const started = Date.now()
  const progress = setInterval(
    () =>
      opts.log.info(
        `still looking for providers of kind ${opts.kind}… (${Math.round((Date.now() - started) / 1000)} s)`
      ),
    3000
  )
  try {
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(resolve, opts.timeoutMs)
      // Once one provider answered, give the others a moment to answer too, then choose.
      onFirst = () => {
        clearTimeout(deadline)
        setTimeout(resolve, opts.settleMs)
      }
    })
  } finally {
    clearInterval(progress)
    swarm.off('connection', ask)
  }
  if (found.length === 0) throw refusal ?? SwarmError.NO_PROVIDERS(opts.kind, Math.round(opts.timeoutMs / 1000))
  return found
}

async function askSkill(conn: Connection, kind: number, expectedPubkey: string | null): Promise<Candidate | null> {
  const channel = new SessionChannel(conn, { role: 'customer', software: SOFTWARE })
  const timeout = setTimeout(() => channel.close(), 10_000)
  try {
    await channel.opened()
    const answer = once(channel, 'skill_response') as Promise<[SkillResponse]>
    channel.send({ type: 'skill_request', kind })
    const [skill] = await Promise.race([answer, once(channel, 'close').then(() => [null] as const)])
    if (!skill) return null
    let pubkey: string
    try {
      pubkey = verifyBinding(skill.identity, conn.remotePublicKey, expectedPubkey)
    } catch (err) {
      channel.close()
      throw err
    }
    const manifest = JSON.parse(skill.manifest) as Record<string, unknown>
    // The name is shown to the customer: stripped of control characters and bounded here, once.
    const name =
      (typeof manifest.name === 'string' ? peerText(manifest.name, 64) : '') ||
      (pubkey ? npubOf(pubkey).slice(0, 20) : 'unnamed provider')
    return { pubkey, conn, channel, swarmKey: Buffer.from(conn.remotePublicKey).toString('hex'), skill, manifest, name }
  } finally {
    clearTimeout(timeout)
  }
}
