// review: a kind 31117 with its proof of payment (SPEC §11.3). The proof is the provider's invoice
// that names the job or session and the provider's npub, and the preimage our wallet got for paying
// it: found in the wallet's settled outgoing payments (NIP-47 list_transactions), or given with
// --bolt11 and --preimage. It is checked before anything is published: a review nobody would count
// is refused here (INVALID_PROOF, exit 4), not sent.

import { CliError } from '@2020117/cli'
import { npubOf } from '@2020117/nostr'
import { JOB_REQUEST_KIND_MAX, JOB_REQUEST_KIND_MIN } from '@2020117/protocol'
import { buildReview, checkReviewProof } from '@2020117/reputation'
import { decodeInvoice, type NetworkName } from '@2020117/wallet'
import { networkOf, openWallet, viewerNetwork, walletUri, type Context } from './context.js'
import { TrustError } from './errors.js'
import { built, publish, publishedLine, refuseSecrets, type Output } from './publish.js'
import { DEFAULT_SESSION_KIND } from './specs.js'

const JOB_ID = /^[0-9a-f]{64}$/
const SESSION_ID = /^[0-9a-f]{32}$/

interface ReviewArgs {
  rating: number
  about: 'job' | 'session'
  id: string
  text: string
  /** --bolt11 and --preimage, when given. */
  given: { bolt11: string; preimage: string } | null
}

interface Proof {
  bolt11: string
  preimage: string
  network: NetworkName
}

export async function review(ctx: Context): Promise<Output> {
  const r = reviewArgs(ctx)
  refuseSecrets(ctx, 'text', r.text)
  const proof = r.given ? { ...r.given, network: await viewerNetwork(ctx) } : await proofFromWallet(ctx, r)
  const kind = await serviceKind(ctx, r)
  const input = { provider: ctx.target, id: r.id, kind, rating: r.rating, text: r.text, ...proof }
  const event = built(() => buildReview(input, ctx.start.identity.secretKey))
  const paid = checkReviewProof({ id: r.id, provider: ctx.target, author: ctx.start.identity.entry.pubkey, ...proof })
  const p = await publish(ctx, event, 'review')
  const json = {
    command: 'review',
    subject: npubOf(ctx.target),
    [r.about]: r.id,
    serviceKind: kind,
    rating: r.rating,
    paymentHash: paid.paymentHash,
    amountMsat: paid.amountMsat,
    network: proof.network,
    ...p
  }
  const line = publishedLine(`reviewed (${r.rating}/5, ${r.about} ${r.id})`, ctx.target, p)
  return { json, lines: [line, `  proof: payment ${paid.paymentHash} of ${paid.amountMsat} msat on ${proof.network}`] }
}

/** The flags, checked before the wallet or a relay is asked anything. */
function reviewArgs(ctx: Context): ReviewArgs {
  const { values: v } = ctx.start
  const bin = '2020117-trust review'
  if (v.rating === undefined) throw CliError.MISSING_FLAG('rating', 'give the rating, 1 to 5, e.g. --rating=5')
  if ((v.job === undefined) === (v.session === undefined))
    throw CliError.INVALID_ARGUMENTS(
      'give exactly one of --job=ID and --session=ID: what you paid the provider for',
      bin
    )
  const about = v.job !== undefined ? 'job' : 'session'
  const id = (v[about] as string).toLowerCase()
  if (!(about === 'job' ? JOB_ID : SESSION_ID).test(id))
    throw CliError.INVALID_FLAG(
      about,
      `must be ${about === 'job' ? 'a job request id (64 hex)' : 'a session id (32 hex)'}`,
      bin
    )
  if ((v.bolt11 === undefined) !== (v.preimage === undefined))
    throw CliError.INVALID_ARGUMENTS('--bolt11 and --preimage go together: the invoice you paid and its preimage', bin)
  const given =
    v.bolt11 !== undefined ? { bolt11: v.bolt11 as string, preimage: (v.preimage as string).toLowerCase() } : null
  return { rating: v.rating as number, about, id, text: (v.text as string | undefined) ?? '', given }
}

/** The newest settled payment of ours whose invoice names the id and the provider's npub. */
async function proofFromWallet(ctx: Context, r: ReviewArgs): Promise<Proof> {
  const uri = walletUri(ctx)
  if (!uri)
    throw CliError.MISSING_FLAG(
      'nwc',
      'a review proves a payment your wallet made: pass --nwc (or --devnet), or --bolt11 and --preimage'
    )
  const wallet = await openWallet(ctx, uri)
  const info = await wallet.info()
  if (!info.methods.includes('list_transactions')) throw TrustError.WALLET_CANNOT_LIST()
  const network = networkOf(ctx, info.network)
  const npub = npubOf(ctx.target)
  const mine = npubOf(ctx.start.identity.entry.pubkey)
  let read = 0
  const found = await wallet.findSettledPayment((payment) => {
    read++
    return namesAll(payment.invoice, [r.id, npub, mine])
  })
  if (!found) throw TrustError.NO_PAYMENT_FOUND(`${r.about} ${r.id} and ${npub}`, read)
  ctx.start.log.info(`found the payment ${found.paymentHash} in the wallet`)
  return { bolt11: found.invoice, preimage: found.preimage, network }
}

/** Whether the invoice's own (signed) description names the id, the provider and us as whole words, as the proof check reads it. */
function namesAll(invoice: string, names: string[]): boolean {
  try {
    const words = (decodeInvoice(invoice).description ?? '').split(/\s+/)
    return names.every((n) => words.includes(n))
  } catch {
    return false
  }
}

/** --kind; else a job's request kind, read from the relays; else the session default. */
async function serviceKind(ctx: Context, r: ReviewArgs): Promise<number> {
  const given = ctx.start.values.kind as number | undefined
  if (given !== undefined) return given
  if (r.about === 'session') return DEFAULT_SESSION_KIND
  const events = await ctx.pool.query({ ids: [r.id], limit: 1 }, ctx.waitMs)
  const request = events.find((e) => e.id === r.id && e.kind >= JOB_REQUEST_KIND_MIN && e.kind <= JOB_REQUEST_KIND_MAX)
  if (!request) throw TrustError.REQUEST_NOT_FOUND(r.id, ctx.pool.relays)
  return request.kind
}
