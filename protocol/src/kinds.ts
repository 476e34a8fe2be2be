// The Nostr event kinds 2020117 uses (SPEC §8.6), one list, as nostr-tools' kinds.ts: a const and
// a type each, and KINDS for the whole closed list. A new kind goes here and into SPEC §8.6 together.

/** NIP-01 profile: a provider's name and picture, published unless it keeps one elsewhere. */
export const Metadata = 0
export type Metadata = typeof Metadata
/** NIP-01 text note: not used by the bins, accepted by the network's relay at the social price (SPEC §12). */
export const TextNote = 1
export type TextNote = typeof TextNote
/** NIP-02 follow list: the viewer's graph that weighs every reputation signal. */
export const Contacts = 3
export type Contacts = typeof Contacts
/** NIP-09 deletion: how a NIP-90 customer cancels its request, and a voucher revokes its vouch. */
export const Deletion = 5
export type Deletion = typeof Deletion
/** NIP-56 report: the type is the third element of its `p` tag (REPORT_TYPES). */
export const Report = 1984
export type Report = typeof Report
/** NIP-32 label: read as a peer vouch when it carries the 2020117 trust label (SPEC §11.2). */
export const Label = 1985
export type Label = typeof Label
/** NIP-90 job kind of a text-generation (LLM) service. */
export const TextGeneration = 5050
export type TextGeneration = typeof TextGeneration
/** NIP-90 job kind of an image-generation service. */
export const ImageGeneration = 5100
export type ImageGeneration = typeof ImageGeneration
/** A Stable Diffusion WebUI session: the kind both bins serve and rent by default. */
export const StableDiffusionSession = 5200
export type StableDiffusionSession = typeof StableDiffusionSession
/** NIP-90 job feedback: payment-required (with a bolt11), processing, error, success. */
export const JobFeedback = 7000
export type JobFeedback = typeof JobFeedback
/** NIP-57 zap request (signed by the payer, carried in the invoice's description) and zap receipt. */
export const ZapRequest = 9734
export type ZapRequest = typeof ZapRequest
export const Zap = 9735
export type Zap = typeof Zap
/** NIP-85 list of the assertion services a viewer trusts to compute ranks. */
export const TrustedServiceList = 10040
export type TrustedServiceList = typeof TrustedServiceList
/** NIP-47 wallet service info, published by a wallet (the local network's play-money wallet). */
export const NWCWalletInfo = 13194
export type NWCWalletInfo = typeof NWCWalletInfo
/** The Nostr-key-to-swarm-key binding (SPEC §7); ephemeral-range, it never goes to a relay. */
export const SwarmBinding = 20117
export type SwarmBinding = typeof SwarmBinding
/** NIP-42 client authentication: sent to a relay in an AUTH message, never stored (SPEC §12.5). */
export const ClientAuth = 22242
export type ClientAuth = typeof ClientAuth
/** NIP-47 request and response between a bin and its wallet. */
export const NWCWalletRequest = 23194
export type NWCWalletRequest = typeof NWCWalletRequest
export const NWCWalletResponse = 23195
export type NWCWalletResponse = typeof NWCWalletResponse
/** Blossom (BUD-01/02) authorization: a signed `t`=upload event that lets a server accept one blob. */
export const BlossomAuth = 24242
export type BlossomAuth = typeof BlossomAuth
/** NIP-78 application data: not used by the bins, accepted by the network's relay at the social price. */
export const AppData = 30078
export type AppData = typeof AppData
/** A provider's heartbeat (addressable, a 2020117 kind): load, prices, liveness. */
export const Heartbeat = 30333
export type Heartbeat = typeof Heartbeat
/** A trust declaration (addressable, `d` = the subject): a 2020117 peer vouch, or a NIP-85 assertion. */
export const TrustAssertion = 30382
export type TrustAssertion = typeof TrustAssertion
/** A review of a job or a session (addressable, `d` = its id), with its proof of payment (SPEC §11.3). */
export const Review = 31117
export type Review = typeof Review
/** NIP-89 handler information: the kinds a provider serves, its prices and its swarm key. */
export const Handlerinformation = 31990
export type Handlerinformation = typeof Handlerinformation

export const KINDS = [
  Metadata,
  TextNote,
  Contacts,
  Deletion,
  Report,
  Label,
  TextGeneration,
  ImageGeneration,
  StableDiffusionSession,
  JobFeedback,
  ZapRequest,
  Zap,
  TrustedServiceList,
  NWCWalletInfo,
  SwarmBinding,
  ClientAuth,
  NWCWalletRequest,
  NWCWalletResponse,
  BlossomAuth,
  AppData,
  Heartbeat,
  TrustAssertion,
  Review,
  Handlerinformation
] as const
export type Kind = (typeof KINDS)[number]
