// The wallet goes away while 2020117-job pays: the pay_invoice gets no answer, so the payment is
// looked up (never sent again) until --timeout, and the run ends as unconfirmed (exit 8) with the
// amount as msat_pending and msat_paid equal to what the ledger moved: nothing.

import { afterAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5050, { teardown: afterAll })

test('a payment the wallet never answers is not sent again: exit 8, pending in the summary, nothing in the ledger', async () => {
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=pay into the void',
    '--bid=10',
    `--provider=${provider.npub}`,
    '--timeout=5',
    '--json'
  ])
  const request = await provider.nextRequest()
  const invoice = await provider.invoice(4000) // made while the wallet is up
  await net.stop('wallet')
  await provider.offer(request, 4000, { invoice })
  await job.line(/paying 4000 msat/)
  const summary = await job.json()
  expect(await job.exited).toBe(8)
  expect(summary).toMatchObject({
    status: 'payment_failed',
    msat_paid: 0,
    msat_pending: 4000,
    reason: 'PAYMENT_FAILED'
  })
  await net.start('wallet')
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
})
