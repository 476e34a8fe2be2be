// A provider paid through a Lightning address (LNURL-pay) cannot look its invoices up, so a payment
// is proven by its preimage alone. An LNURL server that hands out the same invoice twice (a bug, a
// cache, or its operator's choice) must not turn one payment into receipts in two sessions: the
// provider records every payment hash it credits, beside its keys file, and never credits one again,
// in this run or the next (SPEC §5.3). The real 2020117-agent bin, a hostile customer that replays
// the preimage it holds, a local LNURL server, and the devnet wallet's ledger as the judge.

import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { tickAmountMsat, type MessageOf } from '@2020117/protocol'
import { spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'
import { Dialer, RawCustomer } from './helpers/hostile-customer.js'

const net = await startTestNetwork({ teardown: afterAll })
const dialer = new Dialer(net.devnet.state.bootstrap, { teardown: afterAll })
let lnurl: http.Server
/** The one invoice the LNURL server hands out, whatever it is asked, once it has made it. */
let replayed: string | null = null
let callbacks = 0

beforeAll(async () => {
  lnurl = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const { port } = lnurl.address() as { port: number }
    res.setHeader('content-type', 'application/json')
    if (url.pathname === '/.well-known/lnurlp/provider') {
      return void res.end(
        JSON.stringify({
          tag: 'payRequest',
          callback: `http://127.0.0.1:${port}/cb`,
          minSendable: 1,
          maxSendable: 1_000_000_000,
          metadata: '[["text/plain","2020117 test"]]'
        })
      )
    }
    if (url.pathname !== '/cb') return void res.writeHead(404).end('{}')
    callbacks++
    replayed ??= (
      await net.devnet.wallet.makeInvoice('provider', {
        amountMsat: Number(url.searchParams.get('amount')),
        description: 'replayed',
        expirySecs: 3600
      })
    ).invoice
    res.end(JSON.stringify({ pr: replayed, routes: [] }))
  })
  await new Promise<void>((resolve) => lnurl.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  lnurl?.close()
})

const keysDir = mkdtempSync(join(tmpdir(), '2020117-lnurl-agent-'))

async function startAgent(): Promise<{ proc: Proc; key: string }> {
  const { port } = lnurl.address() as { port: number }
  const bootstrap = net.devnet.state.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
  const proc = spawnBin(
    'agent',
    [
      `--bootstrap=${bootstrap}`,
      `--lightning-address=provider@127.0.0.1:${port}`,
      `--keys-file=${join(keysDir, 'keys')}`,
      '--sats-per-minute=5',
      '--tick-seconds=2',
      '--grace-seconds=1',
      '--json'
    ],
    { env: { KEYS_AGENT: 'lnurl-agent' } }
  )
  const ready = await proc.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  return { proc, key: ready.swarm_key }
}

async function session(customer: RawCustomer): Promise<MessageOf<'session_ack'>> {
  const answer = await customer.start()
  if (answer.type !== 'session_ack') throw new Error(`session refused: ${answer.code} ${answer.message}`)
  return answer
}

/**
 * A customer that already holds the preimage of `invoice`: it acks every tick billed with it and
 * pays nothing. Resolves once it got a receipt (the replay worked) or the session ended.
 */
async function replay(
  agentKey: string,
  invoice: string,
  preimage: Buffer
): Promise<{ receipts: number; end: MessageOf<'session_end'> | null }> {
  const rogue = await RawCustomer.open(dialer, agentKey)
  const ack = await session(rogue)
  const acked = new Set<number>()
  await rogue.until(() => {
    for (const t of rogue.all('tick')) {
      if (t.bolt11 === invoice && !acked.has(t.seq) && !rogue.isClosed) {
        acked.add(t.seq)
        rogue.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: t.seq, preimage })
      }
    }
    return rogue.all('tick_receipt').length > 0 || rogue.all('session_end').length > 0
  })
  const receipts = rogue.all('tick_receipt').length
  const end = rogue.all('session_end')[0] ?? null
  rogue.destroy()
  return { receipts, end }
}

test('one payment of an invoice the LNURL server hands out again is credited once: not in a second session, not after a restart', async () => {
  const paidBefore = net.devnet.wallet
    .transactions('provider')
    .filter((t) => t.type === 'incoming' && t.state === 'settled').length
  let agent = await startAgent()

  // Session 1: tick 0 is the LNURL server's invoice; the customer pays it, honestly, once.
  const first = await RawCustomer.open(dialer, agent.key)
  const ack = await session(first)
  const tick0 = await first.next('tick', (t) => t.seq === 0)
  const paid = await net.devnet.wallet.payInvoice('customer', tick0.bolt11)
  const preimage = Buffer.from(paid.preimage, 'hex')
  first.send({ type: 'tick_ack', sessionId: ack.sessionId, seq: 0, preimage })
  expect((await first.next('tick_receipt')).seq).toBe(0)
  first.send({
    type: 'session_end',
    sessionId: ack.sessionId,
    by: 'customer',
    reason: 'CUSTOMER_QUIT',
    message: '',
    ticksPaid: 1,
    msatPaid: 0,
    durationMs: 0
  })
  await agent.proc.json((e: Record<string, any>) => e.event === 'session_ended' && e.reason === 'CUSTOMER_QUIT')

  // Session 2: the server hands out the same invoice; the preimage the customer holds buys nothing.
  const second = await replay(agent.key, tick0.bolt11, preimage)
  expect(second.receipts, 'receipts for a payment already credited').toBe(0)
  expect(second.end?.ticksPaid).toBe(0)
  expect(['PROVIDER_ERROR', 'UNPAID']).toContain(second.end?.reason)

  // The record lives beside the keys file, and survives a restart.
  agent.proc.kill('SIGTERM')
  const summary = await agent.proc.json((e: Record<string, any>) => e.event === 'summary')
  expect(summary.msat_earned).toBe(tickAmountMsat(5, 2))
  await agent.proc.exited
  expect(readdirSync(keysDir).some((f) => /credited/.test(f))).toBe(true)
  agent = await startAgent()
  const third = await replay(agent.key, tick0.bolt11, preimage)
  expect(third.receipts, 'receipts for a payment credited before the restart').toBe(0)
  expect(third.end?.ticksPaid).toBe(0)
  agent.proc.kill('SIGTERM')
  const summary2 = await agent.proc.json((e: Record<string, any>) => e.event === 'summary')
  expect(summary2.msat_earned).toBe(0)

  // The ledger: one payment, and the agents counted exactly it.
  const incoming = net.devnet.wallet
    .transactions('provider')
    .filter((t) => t.type === 'incoming' && t.state === 'settled')
  expect(incoming.length - paidBefore).toBe(1)
  expect(summary.msat_earned + summary2.msat_earned).toBe(incoming[0]?.amount)
  expect(callbacks).toBeGreaterThanOrEqual(3)
  expect(existsSync(join(keysDir, 'keys'))).toBe(true)
}, 60_000)
