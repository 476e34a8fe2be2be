// The zap-receipt key is the devnet's, not the process's: a restarted devnet advertises the same
// nostrPubkey, so that receipts published before the restart still validate, and the key file is
// private (0600). A devnet started with lnurl: false advertises no Lightning address.

import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { afterAll, expect, test } from 'vitest'
import { startDevnet, readState } from '@2020117/devnet'
import { KEY_FILE } from '@2020117/lnurl-server'
import { lnurlNostrPubkey } from '@2020117/zaps'

const dir = await mkdtemp(join(tmpdir(), 'lnurl-restart-'))
afterAll(() => rm(dir, { recursive: true, force: true }))
const ports = { dhtPort: 0, relayPort: 0, webui: false, blossom: false } as const

test('a restarted devnet keeps its zap-receipt key', async () => {
  const first = await startDevnet({ dir, ...ports })
  const key = first.state.lnurl!.nostr_pubkey
  await first.close()
  expect((await stat(join(dir, 'lnurl', KEY_FILE))).mode & 0o777).toBe(0o600)
  const again = await startDevnet({ dir, ...ports })
  try {
    expect(again.state.lnurl!.nostr_pubkey).toBe(key)
    const lud16 = again.state.accounts.provider!.lud16!
    expect(await lnurlNostrPubkey(lud16, { allowHttpLoopback: true, timeoutMs: 5000 })).toBe(key)
    expect((await readState(dir)).lnurl?.nostr_pubkey).toBe(key)
  } finally {
    await again.close()
  }
})

test('a devnet without the server says so in devnet.json', async () => {
  const devnet = await startDevnet({ dir, ...ports, lnurl: false })
  try {
    expect(devnet.lnurl).toBeNull()
    expect(devnet.state.lnurl).toBeNull()
    expect(devnet.state.accounts.provider!.lud16).toBeUndefined()
  } finally {
    await devnet.close()
  }
})
