// vouch, revoke and report: one event built by @2020117/reputation's builders (which check our own
// input, so that what goes out is what every reader counts), published, and how many relays took it.

import { CliError, holdsSecret, walletSecretForms } from '@2020117/cli'
import { NostrError, npubOf, secretForms } from '@2020117/nostr'
import { buildReport, buildRevocation, buildVouch, isReputationError } from '@2020117/reputation'
import type { Event } from 'nostr-tools/pure'
import { walletUri, type Context } from './context.js'
import { TrustError } from './errors.js'

/** What a subcommand prints: the --json object (camelCase here, snake_case out) and the human lines. */
export interface Output {
  json: Record<string, unknown>
  lines: string[]
}

export interface Published {
  eventId: string
  kind: number
  /** How many relays took it, of how many asked. */
  relaysTook: number
  relaysAsked: number
}

/**
 * Publishes to every relay, with the proof of work they price its kind at (a revocation, kind 5:
 * 20 bits by default), so the id printed is the one published; none taking it is NOT_PUBLISHED (exit 3).
 */
export async function publish(ctx: Context, event: Event, what: string): Promise<Published> {
  let published
  try {
    published = await ctx.pool.publishWithPow(event, { timeoutMs: ctx.waitMs })
  } catch (err) {
    // POW_TOO_SLOW or POW_REFUSED: nothing was published, and the message says what to do.
    if (err instanceof NostrError) throw TrustError.NOT_PUBLISHED(what, ctx.pool.relays, err.message)
    throw err
  }
  const took = published.accepted.length
  if (took === 0) throw TrustError.NOT_PUBLISHED(what, ctx.pool.relays)
  const { id, kind } = published.event
  return { eventId: id, kind, relaysTook: took, relaysAsked: ctx.pool.relays.length }
}

/** A builder's refusal of our own input: a usage error with the builder's code (INVALID_PROOF: exit 4). */
export function built<T>(build: () => T): T {
  try {
    return build()
  } catch (err) {
    if (!isReputationError(err)) throw err
    if (err.code === 'INVALID_PROOF') throw TrustError.INVALID_PROOF(err.message)
    throw new CliError(err.code, err.message, 2)
  }
}

/** A text published for anyone to read (a reason, a review): one holding our key or wallet secret is refused. */
export function refuseSecrets(ctx: Context, flag: string, text: string): void {
  const forms = [...secretForms(ctx.start.identity.entry.privkey), ...walletSecretForms(walletUri(ctx))]
  if (holdsSecret(text, forms))
    throw CliError.INVALID_FLAG(flag, 'holds your secret key or wallet secret: it would be public', '2020117-trust')
}

export function publishedLine(verb: string, subject: string, p: Published): string {
  return `${verb} ${npubOf(subject)}: event ${p.eventId} (kind ${p.kind}), taken by ${p.relaysTook} of ${p.relaysAsked} relay(s)`
}

export async function vouch(ctx: Context): Promise<Output> {
  const event = buildVouch(ctx.target, ctx.start.identity.secretKey)
  const p = await publish(ctx, event, 'vouch')
  return {
    json: { command: 'vouch', subject: npubOf(ctx.target), ...p },
    lines: [publishedLine('vouched for', ctx.target, p)]
  }
}

export async function revoke(ctx: Context): Promise<Output> {
  const event = buildRevocation(ctx.target, ctx.start.identity.secretKey)
  const p = await publish(ctx, event, 'revocation')
  return {
    json: { command: 'revoke', subject: npubOf(ctx.target), ...p },
    lines: [publishedLine('revoked your vouch for', ctx.target, p)]
  }
}

export async function report(ctx: Context): Promise<Output> {
  const { values: v } = ctx.start
  if (v.type === undefined)
    throw CliError.MISSING_FLAG('type', 'say what the report is for, e.g. --type=spam (NIP-56 report types)')
  const type = v.type as string
  const reason = (v.reason as string | undefined) ?? ''
  refuseSecrets(ctx, 'reason', reason)
  const event = built(() => buildReport(ctx.target, type, reason, ctx.start.identity.secretKey))
  const p = await publish(ctx, event, 'report')
  return {
    json: { command: 'report', subject: npubOf(ctx.target), type, ...p },
    lines: [publishedLine(`reported (${type})`, ctx.target, p)]
  }
}
