// The 2020117-job command (./bin.ts loads it, bundled): buy one NIP-90 job on Nostr relays and pay
// for it safely (SPEC §10.4). Named steps, each registering its teardown where it is made:
// identity → wallet → relays → request → follow and pay (run.ts) → save (output.ts) → summary.

import {
  CliError,
  identityFlags,
  LOG_FLAGS,
  NETWORK_FLAGS,
  peerText,
  runMain,
  snakeKeys,
  startUp,
  escapeControls,
  holdsSecret,
  walletSecretForms,
  type CommandSpec,
  type Logger,
  type MainContext,
  type Startup
} from '@2020117/cli'
import { DEFAULT_DEVNET_DIR, readRunningState, type DevnetState } from '@2020117/cli/devnet-state'
import { buildRequest, isJobError, type JobInput } from '@2020117/jobs'
import { NostrError, npubOf, parsePubkey, POW_TIMEOUT_FLAG, powTimeoutMs, RelayPool } from '@2020117/nostr'
import {
  JOB_INPUT_TYPES,
  JOB_REQUEST_KIND_MAX,
  JOB_REQUEST_KIND_MIN,
  MAX_BUDGET_SATS,
  MAX_MIN_ZAP_SATS,
  MIN_ZAP_SATS_PARAM
} from '@2020117/protocol'
import { ReputationReader } from '@2020117/reputation'
import {
  knownNetwork,
  NETWORK_NAMES,
  NwcWallet,
  walletNetworkName,
  WalletError,
  type NetworkName
} from '@2020117/wallet'
import { generateSecretKey } from 'nostr-tools/pure'
import type { ChoiceTerms } from './choose.js'
import { JobRunError, ReviewSkipped } from './errors.js'
import { fetchResultBlob, outputExists, saveResult, type Saved } from './output.js'
import { PaidHashes, PostedRequests } from './paid.js'
import { parseReviewFlag, publishReview, type Published, type ReviewWish } from './review.js'
import { JobRun, type Outcome } from './run.js'

const spec: CommandSpec = {
  bin: '2020117-job',
  summary:
    'buy one NIP-90 job on Nostr relays: publish the request, pay one provider once (every invoice checked), save the result',
  usage: [
    '2020117-job --kind=5050 --input="…" --bid=SATS [--input-type=text|url|event|job] [--param=key=value]… [--provider=NPUB] [--encrypt] [--min-score=N] [--allow-flagged] [--min-zap-sats=N] [--review=RATING[:TEXT]] [--timeout=S] [--output=FILE] [--json]'
  ],
  flags: {
    kind: {
      type: 'integer',
      description: 'the job request kind (5000-5999; 5050 text generation, 5100 image generation)',
      min: JOB_REQUEST_KIND_MIN,
      max: JOB_REQUEST_KIND_MAX,
      env: 'JOB_KIND'
    },
    input: { type: 'string', description: 'the job input (required): text, a URL, or an event or job id' },
    'input-type': {
      type: 'string',
      description: 'what --input is; `job` = the result of that earlier job request (NIP-90 chaining)',
      default: 'text',
      choices: JOB_INPUT_TYPES
    },
    param: { type: 'string', multiple: true, description: 'a job parameter, name=value', placeholder: 'NAME=VALUE' },
    bid: {
      type: 'integer',
      description:
        'the most this job may cost, in sats, routing fee included (required); providers are offered the bid less --max-fee',
      min: 1,
      max: MAX_BUDGET_SATS,
      env: 'JOB_BID',
      placeholder: 'SATS'
    },
    provider: {
      type: 'string',
      description: 'ask only this provider (npub1… or hex); its offers and results alone count',
      env: 'JOB_PROVIDER',
      placeholder: 'NPUB'
    },
    encrypt: { type: 'boolean', description: 'encrypt the input and params to --provider (NIP-44)' },
    timeout: {
      type: 'integer',
      description: 'seconds to wait, from publishing the request to the result',
      default: 120,
      min: 1,
      max: 86_400,
      env: 'JOB_TIMEOUT'
    },
    'offer-wait': {
      type: 'integer',
      description:
        'seconds to collect offers after the first acceptable one before paying the best (price against score; 0 with --provider)',
      default: 3,
      min: 0,
      max: 3600
    },
    'min-score': {
      type: 'integer',
      description:
        'refuse offers from providers whose reputation score (as you see it) is below N; above 0, also unrated ones',
      min: -100_000,
      max: 100_000,
      placeholder: 'N'
    },
    'allow-flagged': {
      type: 'boolean',
      description: 'deal with flagged providers (reported by 3 or more of your graph) too; refused by default'
    },
    'min-zap-sats': {
      type: 'integer',
      description: `ask for providers with at least N sats of validated zaps (["param","${MIN_ZAP_SATS_PARAM}",N]) and refuse offers from any below it`,
      min: 1,
      max: MAX_MIN_ZAP_SATS,
      placeholder: 'N'
    },
    review: {
      type: 'string',
      description:
        'after a paid, delivered job, publish a review (kind 31117, rating 1-5) with the invoice and preimage as its proof of payment; an invoice that could not prove it (its description does not name the request, the provider and you) is refused unpaid',
      placeholder: 'RATING[:TEXT]'
    },
    output: {
      type: 'string',
      description:
        'write the result to this new file (never overwritten); a blob result without it goes to ./job-<request id>.<ext>',
      placeholder: 'FILE'
    },
    'max-fee': {
      type: 'integer',
      description: 'the most routing fee the payment may cost, in sats, reserved within --bid',
      default: 1,
      min: 0,
      max: MAX_BUDGET_SATS,
      env: 'JOB_MAX_FEE',
      placeholder: 'SATS'
    },
    'max-download': {
      type: 'integer',
      description: 'the largest blob result fetched, in MiB',
      default: 64,
      min: 1,
      max: 4096,
      placeholder: 'MIB'
    },
    nwc: {
      type: 'string',
      description: 'your wallet (nostr+walletconnect://…) that pays the invoice',
      env: 'NWC_URI',
      secret: true,
      placeholder: 'URI'
    },
    network: {
      type: 'string',
      description:
        "Lightning network invoices must be on, when the wallet does not say (default: the wallet's, else bitcoin)",
      choices: NETWORK_NAMES,
      env: 'LIGHTNING_NETWORK'
    },
    ...identityFlags('you'),
    devnet: {
      type: 'string',
      description: 'use the local network started by 2020117-devnet (its relay and customer wallet, regtest)',
      optionalValue: DEFAULT_DEVNET_DIR,
      placeholder: 'DIR'
    },
    relays: NETWORK_FLAGS.relays,
    'pow-timeout': POW_TIMEOUT_FLAG,
    json: {
      type: 'boolean',
      description: 'print the summary as one JSON line on stdout (the result text in it); logs go to stderr'
    },
    ...LOG_FLAGS
  },
  notes: [
    'Every invoice is checked before it is paid: its amount equals the amount tag and fits the bid, its network is the',
    "wallet's, it has not expired, its payment hash was never paid before (kept beside the keys file), BOLT #11's rules.",
    'One provider is paid once; a payment whose answer is lost is looked up, never sent again. Ctrl-C before paying',
    'cancels the request (a NIP-09 kind 5 deletion).',
    '',
    "Offers are weighed by their providers' reputation as you see it (rated together, within 5 s):",
    'the price divided by 1 + score/100 is compared, the lowest paid. A provider whose reputation cannot be read in',
    'time is unrated: ranked after every rated one, refused with --min-score above 0 or --min-zap-sats (JOB_UNRATED).',
    'Flagged providers, and those under --min-score or --min-zap-sats, are refused (the reason code is in the summary)',
    "and never paid. A --review of a free job publishes nothing (a warning; the exit status is the job's).",
    '',
    'Exit status: 0 paid (or free) and delivered; 1 an error before the job (or no relay took the request); 2 a usage',
    'error; 3 no offer within the bid before --timeout; 4 paid, but no result before --timeout; 5 refused an invoice or',
    'its provider (the reason code is in the summary); 6 interrupted before paying (request cancelled); 7 the provider reported an error;',
    '8 the payment failed or is unconfirmed; 9 the result came but could not be saved.'
  ],
  examples: [
    '2020117-job --devnet --kind=5050 --input="Write a haiku about relays" --bid=20',
    '2020117-job --kind=5100 --input="a lighthouse at dawn" --bid=100 --provider=npub1… --output=lighthouse.png',
    '2020117-job --kind=5302 --input-type=job --input=<request id> --param=lang=de --bid=10 --json',
    '2020117-job --kind=5050 --input="secret plan" --provider=npub1… --encrypt --bid=50 --relays=wss://relay.example.com --nwc="nostr+walletconnect://…"'
  ]
}

/**
 * How long after --timeout the request stays valid (NIP-40 `expiration`): a provider that comes a
 * day late skips it, but relays keep it meanwhile, so that a later job can chain on it
 * (`--input-type=job`): relays drop an expired event, and with it the chain's first link.
 */
const REQUEST_KEPT_S = 24 * 3600

/** The most a provider's rating may hold the choice (and so the payment); each relay read within it waits less. */
const RATING_WAIT_MS = 5000
const RATING_QUERY_MS = 2500

/** An ending that is not a JobRunError (a bug, an unexpected failure): runMain's own status for it. */
const EXIT_INTERNAL = 1

const secrets: string[] = []
const argv = process.argv.slice(2)

type Goodbye = MainContext['goodbye']

interface Job {
  kind: number
  input: JobInput
  params: Record<string, string>
  bidSats: number
  maxFeeSats: number
  provider: string | null
  encrypt: boolean
  timeoutMs: number
  offerWaitMs: number
  output: string | null
  maxBlobBytes: number
  choice: ChoiceTerms
  review: ReviewWish | null
}

await runMain(
  spec,
  argv,
  async ({ flags: first, json, goodbye }) => {
    const start = await startUp(spec, argv, first, { name: 'job', secrets })
    const job = await jobOf(start)
    const devnet = start.values.devnet !== undefined ? await readRunningState(start.values.devnet as string) : null
    const { wallet, network } = await openWallet(start, devnet, job, goodbye)
    const pool = openRelays(start, devnet, goodbye)
    const paid = await PaidHashes.open(start.identity.path, start.identity.name)
    const posted = await PostedRequests.open(start.identity.path, start.identity.name)
    const run = prepare(start, job, { pool, wallet, network, paid, posted })
    goodbye(() => run.close())
    const outcome = await follow(run, start.log)
    const saved = outcome.result ? await save(outcome, run, job) : null
    const delivered = outcome.status === 'delivered' && !(saved instanceof JobRunError)
    const review = delivered ? await reviewJob(start, job, run, { pool, network }) : null
    return summarise(run, outcome, { saved, review }, json, start.log)
  },
  { secrets: () => secrets }
)

/** Whether `text` holds a form of our key (registered by startUp) or of the --nwc URI and its secret. */
function textHoldsSecret(text: string, nwc: unknown): boolean {
  return holdsSecret(text, [...secrets, ...walletSecretForms(typeof nwc === 'string' ? nwc : null)])
}

/** Step 1: what to ask for, checked before anything goes out. */
async function jobOf(start: Startup): Promise<Job> {
  const { values: v, identity } = start
  if (v.kind === undefined) throw CliError.MISSING_FLAG('kind', 'say which job kind to request, e.g. --kind=5050')
  if (v.input === undefined) throw CliError.MISSING_FLAG('input', 'give the job its input, e.g. --input="…"')
  if (v.bid === undefined) throw CliError.MISSING_FLAG('bid', 'say the most this job may cost in sats, e.g. --bid=20')
  const provider = v.provider ? parsePubkey(v.provider as string) : null
  if (provider === identity.entry.privkey) throw CliError.PRIVATE_KEY_GIVEN('provider')
  if (v.encrypt && !provider)
    throw CliError.INVALID_FLAG('encrypt', 'needs --provider: a request is encrypted to one provider', spec.bin)
  const bidSats = v.bid as number
  const maxFeeSats = v['max-fee'] as number
  if (maxFeeSats >= bidSats)
    throw CliError.INVALID_FLAG(
      'max-fee',
      `(${maxFeeSats} sats) leaves nothing of --bid=${bidSats} for the provider`,
      spec.bin
    )
  const type = v['input-type'] as JobInput['type']
  if ((type === 'event' || type === 'job') && !/^[0-9a-f]{64}$/.test(v.input as string))
    throw CliError.INVALID_FLAG('input', `must be an event id (64 hex digits) with --input-type=${type}`, spec.bin)
  const output = (v.output as string | undefined) ?? null
  if (output !== null && (await outputExists(output)))
    throw CliError.INVALID_FLAG('output', `names a file that exists (${output}); nothing is ever overwritten`, spec.bin)
  const job: Job = {
    kind: v.kind as number,
    input: { data: v.input as string, type },
    params: paramsOf((v.param as string[] | undefined) ?? []),
    bidSats,
    maxFeeSats,
    provider,
    encrypt: v.encrypt === true,
    timeoutMs: (v.timeout as number) * 1000,
    offerWaitMs: (v['offer-wait'] as number) * 1000,
    output,
    maxBlobBytes: (v['max-download'] as number) * 1024 * 1024,
    choice: choiceOf(v),
    review: v.review !== undefined ? parseReviewFlag(v.review as string, spec.bin) : null
  }
  if (job.choice.minZapSats !== null) job.params[MIN_ZAP_SATS_PARAM] = String(job.choice.minZapSats)
  if (job.review && textHoldsSecret(job.review.text, v.nwc))
    throw CliError.INVALID_FLAG('review', 'text holds your secret key or wallet secret: a review is public', spec.bin)
  refuseUnbuildable(job)
  return job
}

/** What a provider would refuse (an input or params over the bounds of SPEC §10.2) is a usage error here. */
function refuseUnbuildable(job: Job): void {
  try {
    buildRequest(
      {
        kind: job.kind,
        inputs: [job.input],
        params: job.params,
        ...(job.provider ? { provider: job.provider } : {}),
        ...(job.encrypt ? { encrypt: 'nip44' as const } : {})
      },
      generateSecretKey()
    )
  } catch (err) {
    if (!isJobError(err)) throw err
    throw CliError.INVALID_ARGUMENTS(`the request cannot be sent: ${err.message}`, spec.bin)
  }
}

function choiceOf(v: Startup['values']): ChoiceTerms {
  return {
    minScore: (v['min-score'] as number | undefined) ?? null,
    allowFlagged: v['allow-flagged'] === true,
    minZapSats: (v['min-zap-sats'] as number | undefined) ?? null
  }
}

function paramsOf(list: string[]): Record<string, string> {
  const params: Record<string, string> = Object.create(null) // `--param=__proto__=…` is a name like any other
  for (const p of list) {
    const at = p.indexOf('=')
    if (at <= 0) throw CliError.INVALID_FLAG('param', `must be name=value, got "${p.slice(0, 40)}"`, spec.bin)
    // Asked for without being checked, a threshold would only be the provider's word: the flag does both.
    if (p.slice(0, at) === MIN_ZAP_SATS_PARAM)
      throw CliError.INVALID_FLAG(
        'param',
        `${MIN_ZAP_SATS_PARAM} is set with --min-zap-sats, which also enforces it`,
        spec.bin
      )
    params[p.slice(0, at)] = p.slice(at + 1)
  }
  return params
}

/** Step 2: the wallet that pays (--devnet's customer account unless --nwc), and its network. */
async function openWallet(
  start: Startup,
  devnet: DevnetState | null,
  job: Job,
  goodbye: Goodbye
): Promise<{ wallet: NwcWallet; network: NetworkName }> {
  const { values: v, explicit, log } = start
  const uri = devnet && !explicit('nwc') ? devnet.accounts.customer?.nwc_uri : (v.nwc as string | undefined)
  if (!uri) throw WalletError.NO_WALLET('pay')
  // A pay_invoice that gets no answer waits at most the run's own timeout before it is looked up.
  const wallet = await NwcWallet.connect(uri, { payTimeoutMs: Math.min(60_000, job.timeoutMs) })
  goodbye(() => wallet.close())
  start.redact(...wallet.secrets())
  const info = await wallet.info()
  if (!info.methods.includes('pay_invoice')) throw CliError.WALLET_CANNOT_PAY()
  const said = walletNetworkName(info.network)
  const flag = (v.network as NetworkName | undefined) ?? (devnet ? 'regtest' : undefined)
  if (said && flag && said !== flag && explicit('network')) throw CliError.WALLET_NETWORK_MISMATCH(said, flag, said)
  const network = knownNetwork(said) ?? flag ?? 'bitcoin'
  const balance = await wallet.balanceMsat()
  if (balance !== null && balance < job.bidSats * 1000)
    log.warn(`the wallet holds ${Math.floor(balance / 1000)} sats, less than the ${job.bidSats} sat bid`)
  log.info(`wallet ${info.alias ?? wallet.displayUri} on ${network}`)
  return { wallet, network }
}

/** Step 3: the relays the request goes to, and where the answers are read. */
function openRelays(start: Startup, devnet: DevnetState | null, goodbye: Goodbye): RelayPool {
  const { values: v, explicit } = start
  const relays = devnet && !explicit('relays') ? devnet.relays : ((v.relays as string[] | undefined) ?? [])
  if (relays.length === 0) throw NostrError.NO_RELAYS('publishing a job request')
  // Persistent: a relay that drops is redialled and the answers' subscription opened on it again.
  // Our key answers NIP-42 challenges and signs the request mined to the relays' price.
  const pool = new RelayPool(relays, {
    persistent: true,
    secretKey: start.identity.secretKey,
    powTimeoutMs: powTimeoutMs(v),
    log: start.log
  })
  goodbye(() => pool.close())
  pool.on('reconnect', (url) => start.log.info(`relay ${url} is back: following the request there again`))
  return pool
}

/** Step 4: the signed request (encrypted to --provider with --encrypt) and the run that buys it. */
function prepare(
  start: Startup,
  job: Job,
  r: { pool: RelayPool; wallet: NwcWallet; network: NetworkName; paid: PaidHashes; posted: PostedRequests }
): JobRun {
  const { identity, log } = start
  // One reader for the run: the customer's graph is read once, each provider's signals once.
  const rater = new ReputationReader({
    pool: r.pool,
    viewer: identity.entry.pubkey,
    network: r.network,
    maxWaitMs: RATING_QUERY_MS,
    onWarning: (message) => log.warn(peerText(message, 300))
  })
  const maxAmountMsat = (job.bidSats - job.maxFeeSats) * 1000
  const request = buildRequest(
    {
      kind: job.kind,
      inputs: [job.input],
      params: job.params,
      bidMsat: maxAmountMsat,
      relays: r.pool.relays,
      ...(job.provider ? { provider: job.provider } : {}),
      ...(job.encrypt ? { encrypt: 'nip44' as const } : {}),
      expiration: Math.ceil((Date.now() + job.timeoutMs) / 1000) + REQUEST_KEPT_S
    },
    identity.secretKey
  )
  return new JobRun({
    request,
    ref: { id: request.id, kind: job.kind, customer: identity.entry.pubkey, encryption: job.encrypt ? 'nip44' : null },
    secretKey: identity.secretKey,
    pool: r.pool,
    wallet: r.wallet,
    terms: {
      maxAmountMsat,
      maxFeeMsat: job.maxFeeSats * 1000,
      network: r.network,
      paid: r.paid,
      // --review needs an invoice that can prove it: one that cannot is refused before it is paid.
      provable: job.review ? { requestId: request.id, customer: identity.entry.pubkey } : null
    },
    posted: r.posted,
    provider: job.provider,
    offerWaitMs: job.offerWaitMs,
    rater,
    ratingWaitMs: RATING_WAIT_MS,
    choice: job.choice,
    deadline: Date.now() + job.timeoutMs,
    fetchBlob: (result, timeoutMs) => fetchResultBlob(result, job.maxBlobBytes, timeoutMs),
    log
  })
}

/** Step 5: publish, follow the answers, pay; Ctrl-C and SIGTERM end it (a cancellation before paying). */
async function follow(run: JobRun, log: Logger): Promise<Outcome> {
  const stop = () => run.interrupt()
  // `on`, not `once`: a second Ctrl-C while a payment is under way must not kill the run (the default
  // action once no listener is left) and lose the summary of what the wallet paid.
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const taken = await run.start()
  if (taken > 0) log.info(`request ${run.requestId} published (${taken} relay(s) took it); waiting for offers`)
  const outcome = await run.ended()
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
  return outcome
}

/** Step 6: the result, kept where we choose. A failure here leaves the payment as it was. */
async function save(outcome: Outcome, run: JobRun, job: Job): Promise<Saved | JobRunError> {
  const json = argv.includes('--json')
  // Ctrl-C during a download still ends with the summary: the payment is in it either way.
  let stop!: () => void
  const interrupted = new Promise<never>((_, reject) => (stop = () => reject(new Error('interrupted'))))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    const saving = saveResult(
      outcome.result!,
      {
        requestId: run.requestId,
        output: job.output,
        print: !json,
        maxBlobBytes: job.maxBlobBytes,
        timeoutMs: Math.max(10_000, job.timeoutMs)
      },
      outcome.blob
    )
    return await Promise.race([saving, interrupted])
  } catch (err) {
    return JobRunError.OUTPUT_FAILED(peerText((err as Error).message, 500))
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}

/** Step 7 (--review): the delivered job reviewed with its proof of payment; what went wrong is a warning only. */
async function reviewJob(
  start: Startup,
  job: Job,
  run: JobRun,
  r: { pool: RelayPool; network: NetworkName }
): Promise<Published | ReviewSkipped | null> {
  if (job.review === null || run.accounts.provider === null) return null
  const { identity, log } = start
  const reviewed = { provider: run.accounts.provider, requestId: run.requestId, kind: job.kind, proof: run.proof }
  try {
    const published = await publishReview(
      job.review,
      { ...reviewed, network: r.network },
      { pool: r.pool, secretKey: identity.secretKey }
    )
    log.info(`review ${published.eventId} published (${published.relays} relay(s) took it)`)
    return published
  } catch (err) {
    if (!(err instanceof ReviewSkipped)) throw err
    log.warn(`${err.code}: ${peerText(err.message, 500)}`)
    return err
  }
}

/** Step 8: one summary, whose msat are the wallet's; the exit status of the ending. */
function summarise(
  run: JobRun,
  outcome: Outcome,
  after: { saved: Saved | JobRunError | null; review: Published | ReviewSkipped | null },
  json: boolean,
  log: Logger
): number {
  const { saved, review } = after
  const a = run.accounts
  const failure = saved instanceof JobRunError ? saved : outcome.error
  const status = saved instanceof JobRunError ? 'output_failed' : outcome.status
  const kept = saved instanceof JobRunError ? null : saved
  const code = (failure as { code?: string } | null)?.code
  const summary = snakeKeys({
    requestId: run.requestId,
    provider: a.provider ? npubOf(a.provider) : null,
    msatPaid: a.msatPaid,
    feesMsat: a.feesMsat,
    ...(a.msatPending > 0 ? { msatPending: a.msatPending } : {}),
    status,
    ...(failure ? { reason: code ?? 'INTERNAL_ERROR', message: peerText(failure.message, 1000) } : {}),
    ...(a.refused ? { refusedReason: a.refused.reason } : {}),
    ...(kept?.text !== null && kept?.text !== undefined ? { result: kept.text } : {}),
    ...(kept?.file ? { file: kept.file, bytes: kept.bytes } : {}),
    ...(kept?.sha256 ? { sha256: kept.sha256 } : {}),
    timings: { firstOfferMs: a.firstOfferMs, paymentMs: a.paymentMs, resultMs: a.resultMs },
    providerReputation: a.reputation,
    offers: a.considered.map((c) => ({ ...c, provider: npubOf(c.provider) })),
    review: review && !(review instanceof ReviewSkipped) ? review : null,
    ...(review instanceof ReviewSkipped ? { reviewSkipped: review.code } : {})
  })
  if (json) process.stdout.write(escapeControls(JSON.stringify(summary)) + '\n')
  else printSummary(summary as Record<string, unknown>, log)
  if (!failure) return 0
  return failure instanceof JobRunError ? failure.exitCode : EXIT_INTERNAL
}

function printSummary(s: Record<string, unknown>, log: Logger): void {
  const lines = [
    `job ${s.status}: request ${s.request_id}`,
    `  provider   ${s.provider ?? '-'}`,
    `  paid       ${s.msat_paid} msat (fee ${s.fees_msat} msat)${s.msat_pending ? `, ${s.msat_pending} msat unconfirmed: check your wallet` : ''}`,
    ...(s.file ? [`  saved      ${s.file} (${s.bytes} bytes${s.sha256 ? `, sha256 ${s.sha256}` : ''})`] : [])
  ]
  process.stderr.write(lines.join('\n') + '\n')
  if (s.reason) log.error(`${s.reason}: ${s.message}`)
}
