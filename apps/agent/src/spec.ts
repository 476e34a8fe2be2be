// 2020117-agent's command line: its flags, their defaults and environment, and its --help text.
// The flag rules that span several flags are plan.ts's.

import { identityFlags, LOG_FLAGS, NETWORK_FLAGS, type CommandSpec } from '@2020117/cli'
import { POW_TIMEOUT_FLAG } from '@2020117/nostr'
import { DEFAULT_DEVNET_DIR } from '@2020117/cli/devnet-state'
import { kinds as KIND, MAX_SATS_PER_MINUTE, MAX_TICK_SECONDS } from '@2020117/protocol'

export const spec: CommandSpec = {
  bin: '2020117-agent',
  summary:
    'rent out a local service by the minute over Hyperswarm, and sell NIP-90 jobs on Nostr relays, paid in Lightning through Nostr Wallet Connect',
  usage: [
    '2020117-agent --kind=5200 --processor=http://127.0.0.1:7860 --sats-per-minute=5 --nwc=<uri>',
    '2020117-agent --kind=5302 --processor=exec:./translate.sh --job-price=3 --relays=wss://… --nwc=<uri>',
    '2020117-agent --devnet --sats-per-minute=5 [--job-price=2]'
  ],
  flags: {
    kind: {
      type: 'string',
      multiple: true,
      description:
        'service kind to serve (NIP-90 job kind); 5200 = Stable Diffusion WebUI session; jobs are served for the kinds 5000-5999',
      default: String(KIND.StableDiffusionSession),
      env: 'AGENT_KIND',
      placeholder: 'N'
    },
    processor: {
      type: 'string',
      description:
        'what does the work: http(s)://host:port (sessions and jobs; the only place tunnel traffic goes), exec:PATH [ARGS…] or ollama (jobs only)',
      default: 'http://127.0.0.1:7860',
      env: 'AGENT_PROCESSOR',
      placeholder: 'URL|exec:CMD|ollama'
    },
    'sats-per-minute': {
      type: 'integer',
      description:
        'your session price per minute; an integer ≥ 1 (you alone set it); sessions are rented when it is set (or --free)',
      min: 1,
      max: MAX_SATS_PER_MINUTE,
      env: 'AGENT_SATS_PER_MINUTE'
    },
    free: {
      type: 'boolean',
      description:
        'serve without payment (explicit: there is no other way to run unpaid); jobs too only when asked for (--jobs)'
    },
    jobs: {
      type: 'boolean',
      description: 'sell jobs on the relays (implied by --job-price, an exec: or ollama processor, or --no-sessions)'
    },
    'no-sessions': { type: 'boolean', description: 'do not rent sessions on the DHT (jobs only)' },
    'no-jobs': { type: 'boolean', description: 'do not sell jobs on the relays (sessions only)' },
    'job-price': {
      type: 'string',
      multiple: true,
      description:
        'price of one job in sats: SATS for every job kind, KIND:SATS for one (or --jobs --free: unpaid); jobs need relays',
      env: 'AGENT_JOB_PRICE',
      placeholder: '[KIND:]SATS'
    },
    'pay-after': {
      type: 'boolean',
      description: 'work first, and send the invoice with the result (you risk the work: see the README)'
    },
    'job-timeout': {
      type: 'integer',
      description: 'seconds one job may run (the processor is stopped after it)',
      default: 120,
      min: 1,
      max: 3600,
      env: 'AGENT_JOB_TIMEOUT'
    },
    'job-payment-seconds': {
      type: 'integer',
      description: 'how long an unpaid job waits for its payment (and its invoice stays payable)',
      default: 120,
      min: 5,
      max: 3600
    },
    'max-jobs': {
      type: 'integer',
      description: 'jobs in flight at once, those waiting for payment included',
      default: 4,
      min: 1,
      max: 1000,
      env: 'AGENT_MAX_JOBS'
    },
    'max-output': {
      type: 'integer',
      description: 'largest output of one job, in bytes',
      default: 16 * 1024 * 1024,
      min: 1024,
      max: 1024 * 1024 * 1024,
      placeholder: 'BYTES'
    },
    blossom: {
      type: 'string',
      description: 'Blossom server for image and large outputs (under --devnet: the local one)',
      env: 'AGENT_BLOSSOM',
      placeholder: 'URL'
    },
    api: {
      type: 'string',
      description: "the http processor's API for jobs: a1111, ollama or openai (detected when not given)",
      choices: ['a1111', 'ollama', 'openai']
    },
    model: {
      type: 'string',
      description: 'the model jobs ask an Ollama or OpenAI-compatible processor for',
      placeholder: 'NAME'
    },
    'tick-seconds': {
      type: 'integer',
      description: 'billing period; each period is paid ahead',
      default: 60,
      min: 1,
      max: MAX_TICK_SECONDS,
      env: 'AGENT_TICK_SECONDS'
    },
    'grace-seconds': {
      type: 'integer',
      description: 'an unpaid tick suspends new streams after this, and ends the session after twice this',
      default: 30,
      min: 1,
      max: 3600,
      env: 'AGENT_GRACE_SECONDS'
    },
    'max-sessions': {
      type: 'integer',
      description: 'concurrent customer sessions',
      default: 4,
      min: 1,
      max: 1000,
      env: 'AGENT_MAX_SESSIONS'
    },
    nwc: {
      type: 'string',
      description: 'your wallet (nostr+walletconnect://…), used to make and check invoices',
      env: 'NWC_URI',
      secret: true,
      placeholder: 'URI'
    },
    'lightning-address': {
      type: 'string',
      description: 'receive through LNURL-pay at name@domain when you have no NWC wallet',
      env: 'LIGHTNING_ADDRESS',
      placeholder: 'ADDR'
    },
    'zap-address': {
      type: 'string',
      description:
        'the Lightning address published in the profile (lud16) for zaps to this agent, whose receipts count for min_zap_sats requests (default: --lightning-address; billing is unchanged)',
      env: 'AGENT_ZAP_ADDRESS',
      placeholder: 'ADDR'
    },
    'ignore-reported': {
      type: 'boolean',
      description:
        'do not answer job requests from customers this agent reported (kind 1984 by its key on its relays; a deleted report no longer counts)'
    },
    'invoice-expiry': {
      type: 'integer',
      description: 'seconds each invoice stays payable',
      default: 600,
      min: 60,
      max: 86_400
    },
    skill: {
      type: 'string',
      description: 'skill manifest JSON file shown to customers (default: generated)',
      env: 'AGENT_SKILL',
      placeholder: 'FILE'
    },
    name: { type: 'string', description: 'name shown to customers', default: '2020117 agent', env: 'AGENT_NAME' },
    'deny-path': {
      type: 'string',
      multiple: true,
      description: 'refuse requests under this path with 403',
      placeholder: 'PATH'
    },
    ...identityFlags('this agent'),
    devnet: {
      type: 'string',
      description:
        'use the local network started by 2020117-devnet (its DHT, relay, Blossom server and provider wallet; relays on loopback may be answered)',
      optionalValue: DEFAULT_DEVNET_DIR,
      placeholder: 'DIR'
    },
    ...NETWORK_FLAGS,
    'pow-timeout': POW_TIMEOUT_FLAG,
    json: {
      type: 'boolean',
      description: 'JSON lines on stdout (ready, session and job events, summary); logs stay on stderr'
    },
    ...LOG_FLAGS
  },
  examples: [
    '2020117-devnet &   # then, in another terminal:',
    '2020117-agent --devnet --sats-per-minute=5',
    '2020117-agent --kind=5200 --processor=http://127.0.0.1:7860 --sats-per-minute=5 --nwc="nostr+walletconnect://…"',
    '2020117-agent --kind=5050 --processor=http://127.0.0.1:11434 --sats-per-minute=2 --tick-seconds=30 --lightning-address=me@getalby.com',
    '2020117-agent --free --processor=http://127.0.0.1:3000 --deny-path=/admin',
    '2020117-agent --devnet --kind=5302 --processor="exec:./apps/agent/examples/translate.sh" --job-price=3',
    '2020117-agent --kind=5050 --processor=ollama --model=llama3.2 --job-price=5050:2 --no-sessions --relays=wss://…'
  ],
  notes: [
    'Jobs (NIP-90): requests of the --kind values 5000-5999 that are broadcast or p-tagged to this agent are paid first (7000 payment-required with a bolt11, checked by lookup_invoice and preimage), then worked and answered (result and success). Answers go to our relays and to the relays a request names, except relays on loopback or private addresses that are not ours (allowed under --devnet). Job state (handled requests, cursor, jobs in flight) is kept beside the keys file.'
  ]
}
