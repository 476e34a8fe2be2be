#!/usr/bin/env node
// A NIP-90 customer in its own process, for `pnpm bench`: it buys trivial jobs from one agent on
// the local network, checking and paying every invoice the way 2020117-job does (decoded, amount
// equal to the amount tag and within the bid, regtest, one payment per job), so that the agent's
// figures include a real payment. Prints one JSON line on stdout:
//   {"sequential_ms":[…],"concurrent":{"jobs":N,"ms":M}}
//
//   node job-customer.mjs '<json: relays, nwc_uri, provider, kind, bid_msat, sequential, concurrent, concurrency>'

import { buildRequest, parseFeedback, parseResult } from '@2020117/jobs'
import { RelayPool } from '@2020117/nostr'
import { decodeInvoice, NwcWallet } from '@2020117/wallet'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'

const cfg = JSON.parse(process.argv[2])
const watchdog = setTimeout(() => fail('timed out'), 240_000)
const secretKey = generateSecretKey()
const customer = getPublicKey(secretKey)
const pool = new RelayPool(cfg.relays, { persistent: true })
const wallet = await NwcWallet.connect(cfg.nwc_uri)
const jobs = new Map()
const seen = new Set()
const since = Math.floor(Date.now() / 1000) - 5
const sub = pool.subscribe({ kinds: [7000, cfg.kind + 1000], '#p': [customer] }, (e) => void answer(e), {
  since: () => since
})
await sub.ready
// A relay may drop a live event under load: ask again for the answers of jobs still waiting.
const sweep = setInterval(async () => {
  const ids = [...jobs.keys()]
  if (ids.length === 0) return
  for (const e of await pool.query({ kinds: [7000, cfg.kind + 1000], '#e': ids }, 2000)) void answer(e)
}, 2000)

process.on('unhandledRejection', (err) => fail(err.message))
const sequential = []
for (let i = 0; i < cfg.sequential; i++) sequential.push(await job(`bench ${i}`))
const started = performance.now()
let next = 0
await Promise.all(
  Array.from({ length: cfg.concurrency }, async () => {
    while (next < cfg.concurrent) await job(`load ${next++}`)
  })
)
const concurrent = { jobs: cfg.concurrent, ms: Math.round(performance.now() - started) }
process.stdout.write(JSON.stringify({ sequential_ms: sequential, concurrent }) + '\n')
clearTimeout(watchdog)
clearInterval(sweep)
sub.close()
pool.close()
wallet.close()
process.exit(0)

/** One job, publish to result; resolves with its milliseconds. */
function job(input) {
  const event = buildRequest(
    { kind: cfg.kind, inputs: [{ data: input, type: 'text' }], bidMsat: cfg.bid_msat, provider: cfg.provider },
    secretKey
  )
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    jobs.set(event.id, { event, paid: false, done: (ms) => resolve(ms), reject, t0 })
    pool.publish(event).then((n) => n > 0 || reject(new Error('no relay took the request')), reject)
  })
}

async function answer(e) {
  if (seen.has(e.id)) return
  seen.add(e.id)
  const id = e.tags.find((t) => t[0] === 'e')?.[1]
  const j = jobs.get(id)
  if (!j) return
  const ref = { id, kind: cfg.kind, customer, encryption: null }
  try {
    if (e.kind === 7000) {
      const f = parseFeedback(e, ref, secretKey)
      if (f.status === 'error') throw new Error(`the agent refused job ${id.slice(0, 12)}: ${f.text}`)
      if (f.status !== 'payment-required' || j.paid || !f.bolt11) return
      const inv = decodeInvoice(f.bolt11)
      const msat = Number(inv.amountMsat)
      if (inv.network !== 'regtest' || msat !== f.amountMsat || msat > cfg.bid_msat) throw new Error('a bad invoice')
      j.paid = true
      await wallet.pay(f.bolt11, inv.paymentHash)
    } else if (e.pubkey === cfg.provider) {
      parseResult(e, ref, secretKey)
      jobs.delete(id)
      j.done(Math.round(performance.now() - j.t0))
    }
  } catch (err) {
    jobs.delete(id)
    j.reject(err)
  }
}

function fail(why) {
  process.stderr.write(`job-customer: ${why}\n`)
  process.exit(2)
}
