// The SDK's console output, in process: diverted to the sink as typed lines when the SDK itself
// calls the console, dropped without a sink, and every other console call passed through.

import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { afterEach, beforeAll, expect, test, vi } from 'vitest'
import { NwcWallet, setWalletLogSink } from '../src/index.js'
import { addWalletLogSecret, sdkMessage } from '../src/sdk-log.js'

// Stand-ins for the terminal, put in place before the SDK loads and the console is wrapped.
const terminal = { error: vi.fn(), warn: vi.fn(), debug: vi.fn() }
beforeAll(() => Object.assign(console, terminal))
afterEach(() => {
  setWalletLogSink(null)
  for (const f of Object.values(terminal)) f.mockClear()
})

async function refusingRelay(): Promise<string> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((r) => server.close(() => r()))
  return `nostr+walletconnect://${randomBytes(32).toString('hex')}?relay=${encodeURIComponent(`ws://127.0.0.1:${port}`)}&secret=${randomBytes(32).toString('hex')}`
}

function recorder() {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = []
  return {
    lines,
    warn: (msg: string, fields?: Record<string, unknown>) => lines.push({ level: 'warn', msg, fields }),
    debug: (msg: string, fields?: Record<string, unknown>) => lines.push({ level: 'debug', msg, fields })
  }
}

test('what the SDK prints while failing reaches the sink as NWC_LIBRARY_LOG lines, and not the terminal', async () => {
  const sink = recorder()
  setWalletLogSink(sink)
  const wallet = await NwcWallet.connect(await refusingRelay())
  await expect(wallet.info()).rejects.toMatchObject({ code: 'WALLET_UNREACHABLE' })
  wallet.close()
  expect(sink.lines.length).toBeGreaterThan(0)
  for (const line of sink.lines) {
    expect(line.fields).toEqual({ code: 'NWC_LIBRARY_LOG' })
    expect(line.msg).toMatch(/^the NWC library said: /)
    expect(line.msg).not.toMatch(/\n|\s+at /)
  }
  expect(sink.lines.map((l) => l.msg).join('\n')).toMatch(/failed to connect to any relay/)
  expect(terminal.error).not.toHaveBeenCalled()
  expect(terminal.warn).not.toHaveBeenCalled()
})

test('without a sink the SDK is silent; the rest of the process keeps its console', async () => {
  const wallet = await NwcWallet.connect(await refusingRelay())
  await expect(wallet.info()).rejects.toMatchObject({ code: 'WALLET_UNREACHABLE' })
  wallet.close()
  expect(terminal.error).not.toHaveBeenCalled()
  console.error('the application speaks')
  console.warn('and warns')
  expect(terminal.error).toHaveBeenCalledWith('the application speaks')
  expect(terminal.warn).toHaveBeenCalledWith('and warns')
})

test('a diverted line carries no secret, no stack, no control characters, and is bounded', () => {
  const secret = randomBytes(32).toString('hex')
  addWalletLogSecret(secret)
  const err = Object.assign(
    new Error(`bad uri nostr+walletconnect://abc?relay=x&secret=${randomBytes(32).toString('hex')} key ${secret}`),
    { code: 'OTHER' }
  )
  const text = sdkMessage(['Failed to request pay_invoice', err, { content: 'x\u001b[2J' }])
  expect(text).not.toContain(secret)
  expect(text).toMatch(/secret=\[redacted\]/)
  expect(text).toMatch(/^Failed to request pay_invoice Error: bad uri .* \[OTHER\]/)
  expect(text).not.toMatch(/[\u0000-\u001f]|\s+at /)
  expect(sdkMessage(['x'.repeat(5000)]).length).toBeLessThanOrEqual(601)
})
