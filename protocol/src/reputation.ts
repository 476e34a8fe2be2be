// The reputation vocabulary (SPEC §11): what a report may say, what a vouch and a review carry, and
// the bounds a reader holds strangers' signals to. Closed lists for senders, as §8's are.

/** NIP-56 report types: the third element of a report's `p` tag. */
export const REPORT_TYPES = ['nudity', 'malware', 'profanity', 'illegal', 'spam', 'impersonation', 'other'] as const
export type ReportType = (typeof REPORT_TYPES)[number]

/** `["assertion", TRUST_ASSERTION]` on a kind 30382 is a 2020117 peer vouch. */
export const TRUST_ASSERTION = 'trusted'
/** The NIP-32 namespace and label that make a kind 1985 a vouch. */
export const TRUST_LABEL_NAMESPACE = '2020117.trust'
export const TRUST_LABEL = 'trusted'

export const RATING_MIN = 1
export const RATING_MAX = 5

/** Reporters in the viewer's graph, counted once each, that flag a subject. */
export const FLAG_REPORTERS = 3

export const MAX_REVIEW_TEXT_BYTES = 2000
export const MAX_REPORT_REASON_BYTES = 2000
export const MAX_FOLLOWS = 1000
export const MAX_GRAPH = 20_000
export const MAX_SIGNAL_EVENTS = 2000
export const MAX_SIGNAL_TAGS = 100

/** The job request param that asks for a provider's validated zap total (SPEC §11.6). */
export const MIN_ZAP_SATS_PARAM = 'min_zap_sats'
/** Its largest value: all the bitcoin there will ever be, in sats (a safe integer). */
export const MAX_MIN_ZAP_SATS = 2_100_000_000_000_000

/**
 * The description of a job's invoice (SPEC §11.3): it names the request, the provider and the
 * customer who asked, so that the invoice and its preimage prove, in a review, who paid whom for
 * what, and a review by anyone else who copied them proves nothing.
 */
export function jobInvoiceDescription(requestId: string, providerNpub: string, customerNpub: string): string {
  return `2020117 job ${requestId} ${providerNpub} ${customerNpub}`
}

/** A session tick's invoice: the session id (hex), the tick, the provider, and the customer when it said who it is. */
export function tickInvoiceDescription(
  sessionIdHex: string,
  seq: number,
  providerNpub: string,
  customerNpub: string | null
): string {
  return `2020117 session ${sessionIdHex} tick ${seq} ${providerNpub}${customerNpub ? ` ${customerNpub}` : ''}`
}
