// @2020117/protocol: the session protocol's wire contract (SPEC.md). Only what the apps, packages
// and tests import is exported; a bound nobody reads stays inside, where the codecs use it.

export {
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  MAX_FRAME_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_SATS_PER_MINUTE,
  MAX_TICK_SECONDS,
  MAX_BUDGET_SATS,
  MAX_OUTSTANDING_TICKS,
  FIRST_PAYMENT_SECONDS,
  MAX_STREAM_CHUNK,
  STREAM_INITIAL_WINDOW,
  MAX_STREAM_WINDOW,
  STREAM_AUTO_WINDOW,
  TUNNEL_WINDOW_BUDGET,
  MAX_OPEN_STREAMS,
  PAYMENT_BOLT11,
  PAYMENT_FREE,
  MAX_RESUMES_PER_SESSION,
  MAX_RESUMES_PER_MINUTE,
  MAX_ACCEPTED_GRACE_SECONDS,
  MAX_UNRECEIPTED_PAYMENTS
} from './constants.js'
export { ProtocolError } from './errors.js'
export { tickAmountMsat, earlyToleranceMs, tickDueMs } from './billing.js'
export {
  encodeMessage,
  decodeMessage,
  encodeHandshake,
  decodeHandshake,
  MESSAGE_IDS,
  MESSAGE_TYPES
} from './messages.js'
export type {
  Handshake,
  Offer,
  SkillResponse,
  SessionStart,
  SessionAck,
  Tick,
  TickAck,
  TickReceipt,
  SessionEnd,
  SessionResume,
  SessionResumed,
  StreamOpen,
  StreamData,
  StreamCredit,
  StreamEnd,
  StreamReset,
  Message,
  MessageType,
  MessageOf
} from './messages.js'
export {
  isSessionEndReason,
  isStreamResetCode,
  SESSION_REJECT_CODES,
  SESSION_END_REASONS,
  STREAM_RESET_CODES,
  GATEWAY_ERROR_CODES,
  PAYMENT_METHODS
} from './reasons.js'
export type {
  SessionRejectCode,
  SessionEndReason,
  StreamResetCode,
  GatewayErrorCode,
  PaymentMethod
} from './reasons.js'
import * as kinds from './kinds.js'
export { kinds }
export { kindTopic } from './topic.js'
export { SessionChannel } from './channel.js'
export {
  isJobRequestKind,
  jobResultKind,
  JOB_REQUEST_KIND_MIN,
  JOB_REQUEST_KIND_MAX,
  JOB_RESULT_OFFSET,
  JOB_STATUSES,
  JOB_INPUT_TYPES,
  JOB_ERROR_REASONS,
  MAX_JOB_EVENT_BYTES,
  MAX_JOB_TAGS,
  MAX_JOB_INPUTS,
  MAX_JOB_INPUT_BYTES,
  MAX_JOB_PARAMS,
  MAX_JOB_PARAM_BYTES,
  MAX_JOB_RELAYS,
  MAX_JOB_PROVIDERS,
  MAX_JOB_STATUS_TEXT_BYTES,
  MAX_JOB_BOLT11_CHARS
} from './jobs.js'
export type { JobStatus, JobInputType, JobErrorReason } from './jobs.js'
export {
  REPORT_TYPES,
  TRUST_ASSERTION,
  TRUST_LABEL_NAMESPACE,
  TRUST_LABEL,
  RATING_MIN,
  RATING_MAX,
  FLAG_REPORTERS,
  MAX_REVIEW_TEXT_BYTES,
  MAX_REPORT_REASON_BYTES,
  MAX_FOLLOWS,
  MAX_GRAPH,
  MAX_SIGNAL_EVENTS,
  MAX_SIGNAL_TAGS,
  MIN_ZAP_SATS_PARAM,
  MAX_MIN_ZAP_SATS,
  jobInvoiceDescription,
  tickInvoiceDescription
} from './reputation.js'
export type { ReportType } from './reputation.js'
export {
  RELAY_ACCEPTED_KINDS,
  RELAY_POW_DEFAULTS,
  SOCIAL_POW_BITS,
  JOB_REQUEST_POW_BITS,
  MAX_POW_BITS,
  MAX_POW_RULES,
  MAX_KIND_ENTRIES,
  OPEN_RELAY_POLICY,
  kindInRanges,
  powBitsFor,
  requiredPowBits,
  committedPowBits,
  relayPolicyInfo,
  relayPolicyFromInfo,
  relayInfoUrl,
  parseKindRanges,
  formatKindRanges
} from './relay.js'
export type { KindRange, PowRule, RelayPolicy } from './relay.js'
