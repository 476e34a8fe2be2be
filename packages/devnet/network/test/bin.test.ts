// Acceptance: the real 2020117-devnet bin, spawned as a user runs it. It binds nothing but
// 127.0.0.1 (checked in the kernel's socket tables, not in its own output), prints a usable state,
// serves `balance` and `account create` from other processes, explains its flags, and stops
// cleanly on SIGINT.

import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import dgram from 'node:dgram'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadNwcSdk } from '@2020117/devwallet'
import { fetchBlob, uploadBlob } from '@2020117/blossom'
import { generateSecretKey } from 'nostr-tools/pure'
import type { DevnetState } from '../src/index.js'
import { killAll, runBin, startBin, type BinProcess } from './helpers/bin.js'
import { removeDir, tempDir } from './helpers/devnet.js'
import { asIPv4, childPids, processExists, processSockets, type ProcSocket } from '@2020117/testkit'

let dir: string
let bin: BinProcess
let ready: { ok: boolean; dir: string; state: DevnetState }
const consoleLines: string[] = []

beforeAll(async () => {
  // The NWC SDK reports failures on console.error; keep them (and any secret in them) off the console.
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation(
      (...args: unknown[]) => void consoleLines.push(args.map(String).join(' '))
    )
  }
  dir = await tempDir('devnet-bin-test-')
  bin = startBin([
    `--dir=${dir}`,
    '--dht-port=0',
    '--relay-port=0',
    '--webui-port=0',
    '--blossom-port=0',
    '--lnurl-port=0',
    '--step-delay=1',
    '--json'
  ])
  const line = await bin.firstStdoutLine()
  ready = JSON.parse(line) as typeof ready
  await bin.stderrMatching(/ready:/)
})

afterAll(async () => {
  await killAll()
  await removeDir(dir)
  vi.restoreAllMocks()
})

/**
 * Resolves once the bin has answered a request on its control endpoint, so it has run past the
 * code after its `ready:` line. bin.ts prints `ready:` before it installs its SIGINT/SIGTERM
 * handlers (see the report), so a signal sent the moment `ready:` appears can still kill it
 * uncleanly; waiting for this answer keeps these tests about shutdown, not about that race.
 */
async function settled(state: DevnetState): Promise<void> {
  const res = await fetch(`${state.control!.url}/balances`, {
    headers: { authorization: `Bearer ${state.control!.token}` }
  })
  expect(res.status).toBe(200)
  await res.body?.cancel()
}

/** The plain-object keys with an upper-case letter, at any depth (account names are record keys, lower-case). */
function camelKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(camelKeys)
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => [...(/[A-Z]/.test(k) ? [k] : []), ...camelKeys(v)])
}

function port(url: string): number {
  return Number(new URL(url.replace(/^ws:/, 'http:')).port)
}

describe('2020117-devnet --json', () => {
  it('prints one parseable JSON line naming bootstrap, relays, webui and accounts', () => {
    expect(ready.ok).toBe(true)
    expect(ready.dir).toBe(dir)
    const { state } = ready
    expect(state.pid).toBe(bin.pid)
    expect(state.network).toBe('regtest')
    expect(state.bootstrap.length).toBeGreaterThan(0)
    for (const node of state.bootstrap) {
      expect(node.host).toBe('127.0.0.1')
      expect(node.port).toBeGreaterThan(0)
    }
    expect(state.relays).toHaveLength(1)
    expect(state.relays[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    expect(state.webui).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(state.blossom).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(state.lnurl?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(state.lnurl?.nostr_pubkey).toMatch(/^[0-9a-f]{64}$/)
    expect(Object.keys(state.accounts).sort()).toEqual(['customer', 'provider'])
    for (const account of Object.values(state.accounts)) {
      expect(account.nwc_uri.startsWith('nostr+walletconnect://')).toBe(true)
      expect(account.nwc_uri).toContain(`relay=${encodeURIComponent(state.relays[0]!)}`)
      expect(account.lud16).toMatch(new RegExp(`^[a-z]+@127\\.0\\.0\\.1:${port(state.lnurl!.url)}$`))
    }
    expect(state.version).toBe(2)
    expect(Date.parse(state.started_at)).not.toBeNaN()
    // One JSON case for every bin: no camelCase key anywhere in the printed object.
    expect(camelKeys(ready)).toEqual([])
    // Only that one line on stdout: the rest of the talk goes to stderr.
    expect(bin.stdout.trim().split('\n')).toHaveLength(1)
  })

  it('writes the same state to <dir>/devnet.json, mode 0600', async () => {
    const onDisk = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetState
    expect(onDisk).toEqual(ready.state)
  })
})

describe('Blossom', () => {
  it('serves uploads at state.blossom and keeps each blob under <dir>/blossom by its sha256', async () => {
    const bytes = new TextEncoder().encode('a job result')
    const descriptor = await uploadBlob(ready.state.blossom!, bytes, {
      secretKey: generateSecretKey(),
      mime: 'text/plain'
    })
    expect(descriptor.url.startsWith(ready.state.blossom! + '/')).toBe(true)
    expect(await fetchBlob(descriptor.url, { sha256: descriptor.sha256, maxBytes: 1024, timeoutMs: 5000 })).toEqual(
      bytes
    )
    expect(await readFile(join(dir, 'blossom', descriptor.sha256))).toEqual(Buffer.from(bytes))
  })
})

describe('addresses', () => {
  it('listens on 127.0.0.1 only: every listening TCP socket and every UDP socket of the process and its relay', async () => {
    // The relay is 2020117-relay in a child process: its sockets count as the devnet's.
    const pids = [bin.pid, ...(await childPids(bin.pid))]
    const sockets = (await Promise.all(pids.map(processSockets))).flat()
    const listening = sockets.filter((s) => s.listening)
    const udp = sockets.filter((s) => s.protocol.startsWith('udp'))
    const describe = (s: ProcSocket): string => `${s.protocol} ${s.localAddress}:${s.localPort}`

    // Not vacuous: the relay, the WebUI, Blossom and the control endpoint listen on TCP, the DHT on UDP.
    expect(listening.length, 'listening TCP sockets').toBeGreaterThanOrEqual(4)
    expect(udp.length, 'UDP sockets').toBeGreaterThanOrEqual(ready.state.bootstrap.length)
    const tcpPorts = listening.map((s) => s.localPort)
    expect(tcpPorts).toContain(port(ready.state.relays[0]!))
    expect(tcpPorts).toContain(port(ready.state.webui!))
    expect(tcpPorts).toContain(port(ready.state.blossom!))
    expect(tcpPorts).toContain(port(ready.state.control!.url))
    const udpPorts = udp.map((s) => s.localPort)
    for (const node of ready.state.bootstrap) expect(udpPorts).toContain(node.port)

    const exposed = [...listening, ...udp].filter((s) => asIPv4(s.localAddress) !== '127.0.0.1').map(describe)
    expect(exposed, 'sockets bound to something other than 127.0.0.1').toEqual([])
  })
})

describe('2020117-devnet subcommands', () => {
  it('balance --json prints every account: provider 0, customer 100,000 sats', async () => {
    const result = await runBin(['balance', `--dir=${dir}`, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const body = JSON.parse(result.stdout) as {
      accounts: Array<{ name: string; balance_sats: number; balance_msat: number }>
    }
    const byName = Object.fromEntries(body.accounts.map((a) => [a.name, a]))
    expect(byName['provider']).toMatchObject({ balance_sats: 0, balance_msat: 0 })
    expect(byName['customer']).toMatchObject({ balance_sats: 100_000, balance_msat: 100_000_000 })
  })

  it('account create alice --fund=5000 --json returns an NWC URI worth 5,000,000 msat', async () => {
    const result = await runBin(['account', 'create', 'alice', '--fund=5000', `--dir=${dir}`, '--json'])
    expect(result.code, result.stderr).toBe(0)
    const { account } = JSON.parse(result.stdout) as {
      account: { name: string; balance_msat: number; nwc_uri: string }
    }
    expect(account.name).toBe('alice')
    expect(account.balance_msat).toBe(5_000_000)
    const { NWCClient } = await loadNwcSdk()
    const client = new NWCClient({ nostrWalletConnectUrl: account.nwc_uri })
    try {
      expect((await client.getBalance()).balance).toBe(5_000_000)
    } finally {
      client.close()
    }
    // A second account of the same name is refused, by the running devnet.
    const again = await runBin(['account', 'create', 'alice', `--dir=${dir}`, '--json'])
    expect(again.code).not.toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, error: { code: 'ACCOUNT_EXISTS' } })
  })

  it('--help exits 0 and lists every flag, for each subcommand', async () => {
    const cases: Array<[string[], string[]]> = [
      [
        ['--help'],
        [
          '--dir',
          '--dht-port',
          '--relay-port',
          '--webui-port',
          '--blossom-port',
          '--lnurl-port',
          '--no-webui',
          '--no-blossom',
          '--no-lnurl',
          '--step-delay',
          '--json',
          '--help'
        ]
      ],
      [
        ['start', '--help'],
        [
          '--dir',
          '--dht-port',
          '--relay-port',
          '--webui-port',
          '--blossom-port',
          '--lnurl-port',
          '--no-webui',
          '--no-blossom',
          '--no-lnurl',
          '--step-delay',
          '--json'
        ]
      ],
      [
        ['balance', '--help'],
        ['--dir', '--json', '--help']
      ],
      [
        ['account', 'create', '--help'],
        ['--dir', '--fund', '--budget', '--json', '--help']
      ]
    ]
    for (const [args, flags] of cases) {
      const result = await runBin(args)
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0)
      for (const flag of flags)
        expect(result.stdout, `${args.join(' ')} lists ${flag}`).toMatch(new RegExp(`(^|[\\s,])${flag}(=|\\s|$)`, 'm'))
    }
  })

  it('an unknown flag exits 2 and names the flag', async () => {
    // Ports 0 and a temp dir, so that even a bin that wrongly started would not touch the defaults.
    const other = await tempDir('devnet-bin-flag-')
    let start: BinProcess | null = null
    try {
      start = startBin([
        `--dir=${other}`,
        '--dht-port=0',
        '--relay-port=0',
        '--webui-port=0',
        '--blossom-port=0',
        '--lnurl-port=0',
        '--no-such-flag'
      ])
      const outcome = await Promise.race([
        start.exited,
        start.stderrMatching(/ready:/).then(
          () => 'started' as const,
          () => 'exited' as const
        )
      ])
      expect(outcome, 'the bin started despite an unknown flag').not.toBe('started')
      const exit = await start.exited
      expect(exit.code).toBe(2)
      expect(start.stderr).toContain('--no-such-flag')

      const balance = await runBin(['balance', `--dir=${dir}`, '--bogus'])
      expect(balance.code).toBe(2)
      expect(balance.stderr).toContain('--bogus')
    } finally {
      await start?.kill()
      await removeDir(other)
    }
  })
})

describe('other processes', () => {
  it('SIGTERM stops it cleanly too', async () => {
    const other = await tempDir('devnet-bin-term-')
    const term = startBin([
      `--dir=${other}`,
      '--dht-port=0',
      '--relay-port=0',
      '--webui-port=0',
      '--no-webui',
      '--no-blossom',
      '--no-lnurl',
      '--json'
    ])
    try {
      const state = (JSON.parse(await term.firstStdoutLine()) as { state: DevnetState }).state
      expect(state.webui).toBeNull()
      expect(state.blossom).toBeNull()
      expect(state.lnurl).toBeNull()
      await term.stderrMatching(/ready:/)
      await settled(state)
      term.child.kill('SIGTERM')
      expect(await term.exited).toEqual({ code: 0, signal: null })
      expect(term.stderr).toMatch(/SIGTERM[\s\S]*stopped\.\s*$/)
      expect((JSON.parse(await readFile(join(other, 'devnet.json'), 'utf8')) as DevnetState).pid).toBeNull()
    } finally {
      await term.kill()
      await removeDir(other)
    }
  })

  /** Runs the bin with one port already taken by this process; resolves with its exit and output. */
  async function withBusyPort(
    kind: 'tcp' | 'udp',
    flag: string
  ): Promise<{ code: number | null; stdout: string; stderr: string; port: number }> {
    let port: number
    let release: () => Promise<void>
    if (kind === 'tcp') {
      const server = net.createServer().listen(0, '127.0.0.1')
      await once(server, 'listening')
      port = (server.address() as net.AddressInfo).port
      release = () => new Promise((resolve) => server.close(() => resolve()))
    } else {
      const socket = dgram.createSocket('udp4')
      socket.bind(0, '127.0.0.1')
      await once(socket, 'listening')
      port = socket.address().port
      release = () => new Promise((resolve) => socket.close(() => resolve()))
    }
    const other = await tempDir('devnet-bin-busy-')
    const ports = {
      '--dht-port': 0,
      '--relay-port': 0,
      '--webui-port': 0,
      '--blossom-port': 0,
      '--lnurl-port': 0,
      [flag]: port
    }
    const run = startBin([`--dir=${other}`, ...Object.entries(ports).map(([f, p]) => `${f}=${p}`), '--json'])
    try {
      // Either it refuses (exits) or it comes up anyway; in the second case stop it and report.
      const outcome = await Promise.race([
        run.exited.then(() => 'exited' as const),
        run.stderrMatching(/ready:/).then(
          () => 'ready' as const,
          () => 'exited' as const
        )
      ])
      if (outcome === 'ready') run.child.kill('SIGINT')
      const exit = await run.exited
      return { code: exit.code, stdout: run.stdout, stderr: run.stderr, port }
    } finally {
      await run.kill()
      await release()
      await removeDir(other)
    }
  }

  it('refuses a busy WebUI port with PORT_IN_USE naming --webui-port', async () => {
    const result = await withBusyPort('tcp', '--webui-port')
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'PORT_IN_USE' } })
    expect(result.stderr).toContain('--webui-port')
    expect(result.stderr).toContain(String(result.port))
  })

  it('refuses a busy Blossom port with PORT_IN_USE naming --blossom-port', async () => {
    const result = await withBusyPort('tcp', '--blossom-port')
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'PORT_IN_USE' } })
    expect(result.stderr).toContain('--blossom-port')
  })

  it('refuses a busy Lightning-address port with PORT_IN_USE naming --lnurl-port', async () => {
    const result = await withBusyPort('tcp', '--lnurl-port')
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'PORT_IN_USE' } })
    expect(result.stderr).toContain('--lnurl-port')
  })

  // Known bugs (see the report): the relay's EADDRINUSE arrives wrapped as RelayError
  // LISTEN_FAILED, which guardPort does not map; and the DHT testnet silently binds the next port
  // instead of failing. Enable these once packages/devnet/src/devnet.ts handles both.
  it('refuses a busy relay port with PORT_IN_USE naming --relay-port', async () => {
    const result = await withBusyPort('tcp', '--relay-port')
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'PORT_IN_USE' } })
    expect(result.stderr).toContain('--relay-port')
  })

  it('refuses a busy DHT port with PORT_IN_USE naming --dht-port', async () => {
    const result = await withBusyPort('udp', '--dht-port')
    expect(result.code).toBe(1)
    expect(JSON.parse(result.stdout.split('\n')[0]!)).toMatchObject({ ok: false, error: { code: 'PORT_IN_USE' } })
    expect(result.stderr).toContain('--dht-port')
  })
})

describe('SIGINT', () => {
  it('stops cleanly: exit 0, "stopped.", pid null in the state file, no process left', async () => {
    const pid = bin.pid
    const children = await childPids(pid)
    expect(processExists(pid)).toBe(true)
    await settled(ready.state)
    bin.child.kill('SIGINT')
    const exit = await bin.exited
    expect(exit).toEqual({ code: 0, signal: null })
    expect(bin.stderr).toMatch(/stopped\.\s*$/)
    const state = JSON.parse(await readFile(join(dir, 'devnet.json'), 'utf8')) as DevnetState
    expect(state.pid).toBeNull()
    expect(state.control).toBeNull()
    // The process has been reaped, and nothing it started outlives it.
    expect(processExists(pid)).toBe(false)
    for (const child of children) expect(processExists(child), `child ${child}`).toBe(false)
    // With the devnet gone, `balance` still reads the ledger from disk.
    const balance = await runBin(['balance', `--dir=${dir}`, '--json'])
    expect(balance.code).toBe(0)
    expect((JSON.parse(balance.stdout) as { accounts: unknown[] }).accounts).toHaveLength(3)
  })
})
