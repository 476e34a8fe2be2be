// The local network for end-to-end tests: the devnet in this process, on free ports, in a temp dir.
// Its DHT, relay and wallet can be stopped and started again under running bins (an outage): the
// ports and the state on disk stay, so bins that hold the old addresses can find them again.
//
// One call, teardown handed in (as hyperswarm's `createTestnet(3, t.teardown)`): a test file starts
// its network at the top, `const net = await startTestNetwork({ teardown: afterAll })`, and a single
// test `startTestNetwork({ teardown: onTestFinished })`. Teardown kills the bins spawned (spawnBin)
// first, then closes the network and removes its directory. Vitest runs afterAll hooks in reverse,
// so the network, registered first, closes after the file's own afterAll hooks.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Event } from 'nostr-tools/pure'
import { startDevnet, type Devnet, type NetworkPart, type RelayPolicyFlags } from '@2020117/devnet'
import { RelayPool } from '@2020117/nostr'
import { killAll } from './bins.js'
import { zap, type ZapOptions } from './zaps.js'

export interface TestNetwork {
  devnet: Devnet
  dir: string
  /** `--devnet=<dir>`, for the bins. */
  flag: string
  balanceMsat(account: string): number
  /**
   * A NIP-57 zap through the devnet's Lightning-address server, paid from `payer`'s wallet account;
   * resolves with the zap receipt (kind 9735) once the relay has it.
   */
  zap(opts: ZapOptions): Promise<Event>
  /**
   * Publishes `event` as its author would, through a pool of that key: mined to what the relay
   * asks for its kind, authenticated if it asks. Resolves with the event as published (a mined
   * one has a new id); throws if the relay refused it.
   */
  publishAs(secretKey: Uint8Array, event: Event): Promise<Event>
  /** Stops parts of the network (all of DHT, relay and wallet when none is named). */
  stop(...parts: NetworkPart[]): Promise<void>
  /** Starts them again, on the same ports with the same state. */
  start(...parts: NetworkPart[]): Promise<void>
  close(): Promise<void>
}

/**
 * The relay's policy in tests: the network's kind whitelist, but no proof of work and rate limits far
 * above what any test sends, unless a test asks (the relay's own tests, and the --auth/PoW job and
 * session of scripts/test/relay-network.test.ts). Tests publish raw events of every kind (a
 * stranger's forged request, a graph of follow lists) that no miner stands behind.
 */
export const TEST_RELAY_POLICY: Readonly<RelayPolicyFlags> = Object.freeze({ pow: [], eventsPerSecond: 10_000 })

export async function startTestNetwork(
  opts: {
    webuiStepDelayMs?: number
    teardown?: (close: () => Promise<void>) => void
    /** Replaces TEST_RELAY_POLICY; `{}` runs the relay with the network's own defaults. */
    relayPolicy?: RelayPolicyFlags
  } = {}
): Promise<TestNetwork> {
  const dir = await mkdtemp(join(tmpdir(), '2020117-test-'))
  const devnet = await startDevnet({
    dir,
    dhtPort: 0,
    relayPort: 0,
    webuiPort: 0,
    webuiStepDelayMs: opts.webuiStepDelayMs ?? 5,
    relayPolicy: opts.relayPolicy ?? TEST_RELAY_POLICY
  })
  const network: TestNetwork = {
    devnet,
    dir,
    flag: `--devnet=${dir}`,
    balanceMsat: (account) => devnet.wallet.balance(account),
    zap: (zapOpts) => zap(devnet, zapOpts),
    publishAs: (secretKey, event) => publishAs(devnet.relay.url, secretKey, event),
    stop: (...parts) => devnet.stop(...parts),
    start: (...parts) => devnet.start(...parts),
    async close() {
      await devnet.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  opts.teardown?.(async () => {
    await killAll()
    await network.close()
  })
  return network
}

async function publishAs(relayUrl: string, secretKey: Uint8Array, event: Event): Promise<Event> {
  const own = new RelayPool([relayUrl], { secretKey })
  try {
    const published = await own.publishWithPow(event)
    if (published.accepted.length === 0) {
      throw new Error(`the relay refused a kind ${event.kind}: ${published.refused[0]?.reason ?? 'no answer'}`)
    }
    return published.event
  } finally {
    own.close()
  }
}
