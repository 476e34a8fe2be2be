// The Nostr event kinds 2020117 uses (SPEC §8.6), one list, as nostr-tools' kinds.ts: a const and
// a type each, and KINDS for the whole closed list. A new kind goes here and into SPEC §8.6 together.

/** NIP-01 profile: a provider's name and picture, published unless it keeps one elsewhere. */
export const Metadata = 0
export type Metadata = typeof Metadata
/** NIP-09 deletion: how a NIP-90 customer cancels its request. */
export const Deletion = 5
export type Deletion = typeof Deletion
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
/** NIP-47 wallet service info, published by a wallet (the local network's play-money wallet). */
export const NWCWalletInfo = 13194
export type NWCWalletInfo = typeof NWCWalletInfo
/** The Nostr-key-to-swarm-key binding (SPEC §7); ephemeral-range, it never goes to a relay. */
export const SwarmBinding = 20117
export type SwarmBinding = typeof SwarmBinding
/** NIP-47 request and response between a bin and its wallet. */
export const NWCWalletRequest = 23194
export type NWCWalletRequest = typeof NWCWalletRequest
export const NWCWalletResponse = 23195
export type NWCWalletResponse = typeof NWCWalletResponse
/** Blossom (BUD-01/02) authorization: a signed `t`=upload event that lets a server accept one blob. */
export const BlossomAuth = 24242
export type BlossomAuth = typeof BlossomAuth
/** A provider's heartbeat (addressable, a 2020117 kind): load, prices, liveness. */
export const Heartbeat = 30333
export type Heartbeat = typeof Heartbeat
/** NIP-89 handler information: the kinds a provider serves, its prices and its swarm key. */
export const Handlerinformation = 31990
export type Handlerinformation = typeof Handlerinformation

export const KINDS = [
  Metadata,
  Deletion,
  TextGeneration,
  ImageGeneration,
  StableDiffusionSession,
  JobFeedback,
  ZapRequest,
  Zap,
  NWCWalletInfo,
  SwarmBinding,
  NWCWalletRequest,
  NWCWalletResponse,
  BlossomAuth,
  Heartbeat,
  Handlerinformation
] as const
export type Kind = (typeof KINDS)[number]
