// The steps every subcommand shares: who the target is, which relays, which wallet and which
// Lightning network. Each resource registers its teardown where it is made.
//
// The network proofs and zaps are checked on: the wallet's, when one is configured (a review always
// has one, unless --bolt11 and --preimage are given); else --network; else regtest on the local
// network (--devnet); else bitcoin. A proof on another network (play money) counts as nothing.

import { CliError, type MainContext, type Startup } from '@2020117/cli'
import { readRunningState, type DevnetState } from '@2020117/cli/devnet-state'
import { NostrError, parsePubkey, powTimeoutMs, RelayPool } from '@2020117/nostr'
import { knownNetwork, NwcWallet, walletNetworkName, type NetworkName } from '@2020117/wallet'

type Goodbye = MainContext['goodbye']

export interface Context {
  start: Startup
  /** The subject's hex pubkey. */
  target: string
  devnet: DevnetState | null
  pool: RelayPool
  /** Milliseconds each relay read or publish may wait (--timeout). */
  waitMs: number
  goodbye: Goodbye
}

/** `publishes`: the command writes, so its pool authenticates with our key and mines. */
export async function openContext(start: Startup, bin: string, goodbye: Goodbye, publishes = true): Promise<Context> {
  const target = targetOf(start, bin)
  const devnet = start.values.devnet !== undefined ? await readRunningState(start.values.devnet as string) : null
  const pool = openRelays(start, devnet, goodbye, publishes)
  return { start, target, devnet, pool, waitMs: (start.values.timeout as number) * 1000, goodbye }
}

/** The NPUB argument: one, a public key, and not our own secret key pasted by mistake. */
function targetOf(start: Startup, bin: string): string {
  const [arg, extra] = start.flags.positionals
  if (arg === undefined) throw CliError.MISSING_ARGUMENT(`give the provider's npub, e.g. ${bin} npub1…`)
  if (extra !== undefined) throw CliError.UNEXPECTED_ARGUMENT(extra, bin)
  if (arg.toLowerCase() === start.identity.entry.privkey) throw CliError.PRIVATE_KEY_GIVEN('NPUB')
  try {
    return parsePubkey(arg)
  } catch (err) {
    throw CliError.INVALID_ARGUMENTS((err as Error).message, bin)
  }
}

/**
 * The relays of --relays, else of the local network; one-shot reads and publishes, no redialling.
 * Our key answers NIP-42 challenges and signs what is mined to the relays' price (a revocation).
 */
function openRelays(start: Startup, devnet: DevnetState | null, goodbye: Goodbye, publishes: boolean): RelayPool {
  const relays =
    devnet && !start.explicit('relays') ? devnet.relays : ((start.values.relays as string[] | undefined) ?? [])
  if (relays.length === 0) throw NostrError.NO_RELAYS('reading and publishing reputation')
  const pool = new RelayPool(relays, {
    ...(publishes ? { secretKey: start.identity.secretKey } : {}),
    powTimeoutMs: powTimeoutMs(start.values),
    log: start.log
  })
  goodbye(() => pool.close())
  return pool
}

/** Whether a wallet is configured: --nwc (flag, environment or keys file), or the local network's customer. */
export function walletUri(ctx: Context): string | null {
  const { values: v, explicit } = ctx.start
  if (ctx.devnet && !explicit('nwc')) return ctx.devnet.accounts.customer?.nwc_uri ?? null
  return (v.nwc as string | undefined) ?? null
}

export async function openWallet(ctx: Context, uri: string): Promise<NwcWallet> {
  const wallet = await NwcWallet.connect(uri, { requestTimeoutMs: ctx.waitMs })
  ctx.goodbye(() => wallet.close())
  ctx.start.redact(...wallet.secrets())
  return wallet
}

/** The network of the header comment; `said` is what the wallet's get_info said, if one was asked. */
export function networkOf(ctx: Context, said: string | null): NetworkName {
  const { values: v, explicit } = ctx.start
  const known = knownNetwork(walletNetworkName(said))
  const flag = (v.network as NetworkName | undefined) ?? null
  if (known && flag && known !== flag && explicit('network')) throw CliError.WALLET_NETWORK_MISMATCH(known, flag, known)
  return known ?? flag ?? (ctx.devnet ? 'regtest' : 'bitcoin')
}

/** The network for `show`: a configured --nwc wallet is asked (the local network's is regtest). */
export async function viewerNetwork(ctx: Context): Promise<NetworkName> {
  if (ctx.devnet && !ctx.start.explicit('nwc')) return networkOf(ctx, 'regtest')
  const uri = walletUri(ctx)
  if (!uri) return networkOf(ctx, null)
  const wallet = await openWallet(ctx, uri)
  return networkOf(ctx, (await wallet.info()).network)
}
