// The devnet state file's reader (`@2020117/cli/devnet-state`): it accepts the version-2, snake_case
// file that 2020117-devnet writes, and refuses any other version with a typed error that says to
// restart the devnet, since an old file's field names would read as missing values.

import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { readState, STATE_FILE, type DevnetState } from '@2020117/cli/devnet-state'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devnet-state-test-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const v2: DevnetState = {
  version: 2,
  pid: null,
  started_at: '2026-12-01T00:00:00.000Z',
  network: 'regtest',
  bootstrap: [{ host: '127.0.0.1', port: 20117 }],
  relays: ['ws://127.0.0.1:20118'],
  webui: null,
  blossom: 'http://127.0.0.1:20119',
  control: null,
  accounts: { customer: { nwc_uri: 'nostr+walletconnect://abc?relay=x&secret=y' } }
}

const write = (value: unknown) => writeFile(join(dir, STATE_FILE), JSON.stringify(value))

describe('readState', () => {
  test('reads a version-2 file with its snake_case fields', async () => {
    await write(v2)
    const state = await readState(dir)
    expect(state.started_at).toBe(v2.started_at)
    expect(state.accounts.customer?.nwc_uri).toBe(v2.accounts.customer!.nwc_uri)
    expect(state.blossom).toBe('http://127.0.0.1:20119')
  })

  test('reads the Lightning-address server and each account lud16, and an older file without them as null', async () => {
    const lnurl = { url: 'http://127.0.0.1:20120', nostr_pubkey: 'ab'.repeat(32) }
    const lud16 = 'customer@127.0.0.1:20120'
    await write({ ...v2, lnurl, accounts: { customer: { ...v2.accounts.customer, lud16 } } })
    const state = await readState(dir)
    expect(state.lnurl).toEqual(lnurl)
    expect(state.accounts.customer?.lud16).toBe(lud16)
    await write(v2)
    expect((await readState(dir)).lnurl).toBeNull()
  })

  test('refuses an lnurl entry whose nostr_pubkey is not a key', async () => {
    await write({ ...v2, lnurl: { url: 'http://127.0.0.1:20120', nostr_pubkey: 'npub1x' } })
    await expect(readState(dir)).rejects.toMatchObject({ code: 'STATE_CORRUPT' })
  })

  test('refuses a version-1 (camelCase) file and says to restart 2020117-devnet', async () => {
    const v1 = { ...v2, version: 1, startedAt: v2.started_at, accounts: { customer: { nwcUri: 'nostr+x' } } }
    await write(v1)
    await expect(readState(dir)).rejects.toMatchObject({
      code: 'STATE_CORRUPT',
      message: expect.stringMatching(/restart 2020117-devnet/)
    })
  })

  test('refuses a file of a later version too', async () => {
    await write({ ...v2, version: 3 })
    await expect(readState(dir)).rejects.toMatchObject({ code: 'STATE_CORRUPT' })
  })
})
