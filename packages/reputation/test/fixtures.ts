// Real signals for the reputation tests: keys in a known graph, events signed with nostr-tools,
// BOLT11 invoices signed by @2020117/testkit's field-by-field maker (a description naming the job and
// the provider, or a description hash committing to a zap request), and zap receipts as an LNURL
// server writes them.

import { createHash, randomBytes } from 'node:crypto'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { npubEncode } from 'nostr-tools/nip19'
import { rawInvoice, words } from '@2020117/testkit'
import { buildGraph, type ComputeOptions, type Graph, type SubjectEvents } from '@2020117/reputation'

export interface Key {
  sk: Uint8Array
  pk: string
}

export function key(): Key {
  const sk = generateSecretKey()
  return { sk, pk: getPublicKey(sk) }
}

export const NOW = 1_750_000_000

export const viewer = key()
/** The viewer follows these. */
export const follows = [key(), key(), key(), key()]
/** The first follow follows these. */
export const fofs = [key(), key(), key()]
export const provider = key()
export const other = key()
/** The provider's LNURL server: its key signs the provider's zap receipts. */
export const server = key()

export function sign(k: Key, kind: number, tags: string[][], content = '', createdAt = NOW): Event {
  return finalizeEvent({ kind, created_at: createdAt, tags, content }, k.sk)
}

export function contactList(k: Key, followed: Key[]): Event {
  return sign(
    k,
    3,
    followed.map((f) => ['p', f.pk])
  )
}

export const graph: Graph = buildGraph(viewer.pk, {
  contacts: [contactList(viewer, follows), contactList(follows[0] as Key, fofs)],
  serviceLists: []
})

export function empty(): SubjectEvents {
  return { profiles: [], zaps: [], reviews: [], declarations: [], reports: [], deletions: [] }
}

export function events(over: Partial<SubjectEvents>): SubjectEvents {
  return { ...empty(), ...over }
}

export const opts: ComputeOptions = {
  subject: provider.pk,
  graph,
  lnurlNostrPubkey: server.pk,
  network: 'regtest'
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')

export interface Invoice {
  bolt11: string
  preimage: string
  paymentHash: string
}

/** A signed invoice for `amountMsat` on `network`, carrying a description or its hash. */
export function invoice(o: {
  amountMsat: number
  description?: string
  hashOf?: string
  network?: 'regtest' | 'bitcoin'
  preimage?: Buffer
}): Invoice {
  const preimage = o.preimage ?? randomBytes(32)
  const paymentHash = sha256(preimage)
  const describe: [number, number[]] =
    o.hashOf !== undefined ? [23, words.hex(sha256(o.hashOf))] : [13, words.text(o.description ?? '')]
  const hrp = `${o.network === 'bitcoin' ? 'lnbc' : 'lnbcrt'}${o.amountMsat * 10}p`
  const bolt11 = rawInvoice(
    [[1, words.hex(paymentHash)], [16, words.hex(randomBytes(32).toString('hex'))], describe, [6, words.int(600)]],
    { hrp, timestamp: NOW }
  )
  return { bolt11, preimage: preimage.toString('hex'), paymentHash }
}

/** The invoice a provider issues for a job (SPEC §11.3): it names the request, the provider and the customer. */
export function jobInvoice(
  jobId: string,
  o: { payee?: Key; payer?: Key; amountMsat?: number; network?: 'regtest' | 'bitcoin' } = {}
): Invoice {
  const npub = npubEncode((o.payee ?? provider).pk)
  // The customer who paid: the usual reviewer in these tests, unless said otherwise.
  const payer = ` ${npubEncode((o.payer ?? follows[0]!).pk)}`
  return invoice({
    amountMsat: o.amountMsat ?? 50_000,
    description: `2020117 job ${jobId} ${npub}${payer}`,
    network: o.network
  })
}

export function jobId(): string {
  return randomBytes(32).toString('hex')
}

export function review(
  author: Key,
  o: { id?: string; rating?: number; proof?: Invoice | null; preimage?: string; p?: string[]; createdAt?: number } = {}
): Event {
  const id = o.id ?? jobId()
  const proof = o.proof === undefined ? jobInvoice(id, { payer: author }) : o.proof
  const tags = [
    ['d', id],
    ['e', id],
    ...(o.p ?? [provider.pk]).map((p) => ['p', p]),
    ['rating', String(o.rating ?? 5)],
    ['k', '5100'],
    ...(proof
      ? [
          ['bolt11', proof.bolt11],
          ['preimage', o.preimage ?? proof.preimage]
        ]
      : [])
  ]
  return sign(author, 31117, tags, 'good', o.createdAt)
}

/** A zap of `amountMsat` from `sender` to the provider, its receipt signed by `signer`. */
export function zap(
  sender: Key,
  o: {
    amountMsat?: number
    invoiceMsat?: number
    signer?: Key
    network?: 'regtest' | 'bitcoin'
    to?: string
    /** The zap request to carry (another receipt's, say) instead of a new one. */
    request?: Event
    /** A zap request without an `amount` tag: the server then chooses the invoice's amount. */
    noAmount?: boolean
  } = {}
): Event {
  const amount = o.amountMsat ?? 21_000
  const to = o.to ?? provider.pk
  const request =
    o.request ??
    sign(sender, 9734, [['relays', 'ws://127.0.0.1:1'], ['p', to], ...(o.noAmount ? [] : [['amount', String(amount)]])])
  const description = JSON.stringify(request)
  const pr = invoice({ amountMsat: o.invoiceMsat ?? amount, hashOf: description, network: o.network })
  return sign(o.signer ?? server, 9735, [
    ['p', to],
    ['P', sender.pk],
    ['bolt11', pr.bolt11],
    ['description', description]
  ])
}

export function vouch(author: Key, o: { target?: string; createdAt?: number; extraTags?: number } = {}): Event {
  const target = o.target ?? provider.pk
  const pad = Array.from({ length: o.extraTags ?? 0 }, (_, i) => ['t', String(i)])
  return sign(author, 30382, [['d', target], ['p', target], ['assertion', 'trusted'], ...pad], '', o.createdAt)
}

export function revocation(author: Key, o: { target?: string; createdAt?: number } = {}): Event {
  const target = o.target ?? provider.pk
  return sign(
    author,
    5,
    [
      ['a', `30382:${author.pk}:${target}`],
      ['k', '30382']
    ],
    'revoked',
    o.createdAt
  )
}

export function report(author: Key, type = 'spam', target = provider.pk): Event {
  return sign(author, 1984, [['p', target, type]], 'took the money')
}

/** The zap request a receipt carries. */
export function zapRequestOf(receipt: Event): Event {
  return JSON.parse(receipt.tags.find((t) => t[0] === 'description')![1]!) as Event
}
