// A hostile review of pay-after blob results: the provider names its price on a result that is only
// a link. Pay-after is the provider's risk, never the customer's money (SPEC §10.3), so the blob is
// fetched and its sha256 checked before the invoice is paid. Judged by the wallet ledger.

import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, expect, onTestFinished, test } from 'vitest'
import { uploadBlob } from '@2020117/blossom'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { tempDir } from './helpers/temp.js'
import { startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5100, { teardown: afterAll })

function buy(cwd: string) {
  const args = [net.flag, '--kind=5100', '--input=a lighthouse', '--bid=20', `--provider=${provider.npub}`]
  return spawnBin('job', [...args, '--timeout=30', '--json'], { cwd })
}

async function upload(bytes: Uint8Array): Promise<{ url: string; sha256: string }> {
  const server = net.devnet.state.blossom
  if (!server) throw new Error('the test network runs no Blossom server')
  return uploadBlob(server, bytes, { secretKey: provider.secretKey, mime: 'image/png' })
}

test('a pay-after result whose blob does not hash to its x tag is not paid', async () => {
  const dir = await tempDir('job-blob-')
  const before = net.balanceMsat('customer')
  const job = buy(dir)
  const request = await provider.nextRequest()
  const blob = await upload(randomBytes(1000))
  const claimed = createHash('sha256').update('the picture you asked for').digest('hex')
  const invoice = await provider.invoice(8000)
  await provider.deliver(request, blob.url, {
    amountMsat: 8000,
    bolt11: invoice.bolt11,
    blob: { sha256: claimed, mime: 'image/png' }
  })
  const summary = await job.json()
  expect(await job.exited).toBe(5)
  expect(summary).toMatchObject({ status: 'offer_refused', msat_paid: 0, refused_reason: 'JOB_BLOB_UNVERIFIED' })
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
  expect(await readdir(dir)).toEqual([])
})

test('a pay-after result whose blob checks out is paid once, and the checked bytes are saved', async () => {
  const dir = await tempDir('job-blob-')
  const before = net.balanceMsat('customer')
  const image = randomBytes(20_000)
  const job = buy(dir)
  const request = await provider.nextRequest()
  const blob = await upload(image)
  const invoice = await provider.invoice(8000)
  await provider.deliver(request, blob.url, {
    amountMsat: 8000,
    bolt11: invoice.bolt11,
    blob: { sha256: blob.sha256, mime: 'image/png' }
  })
  await provider.paid(invoice)
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  const file = join(dir, `job-${request.id.slice(0, 12)}.png`)
  expect(summary).toMatchObject({ status: 'delivered', msat_paid: 8000, file, sha256: blob.sha256 })
  expect(Buffer.compare(await readFile(file), image)).toBe(0)
  expect(before - net.balanceMsat('customer')).toBe(8000)
})

test('Ctrl-C while a pay-after blob is being fetched cancels at once: nothing paid, the request deleted', async () => {
  const dir = await tempDir('job-blob-')
  const before = net.balanceMsat('customer')
  // A server that takes the request and never answers: only the interrupt can end the wait early.
  let asked!: () => void
  const arrived = new Promise<void>((resolve) => (asked = resolve))
  const hanging = createServer(() => asked())
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => {
    hanging.closeAllConnections()
    hanging.close()
  })
  const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/blob`
  const job = spawnBin(
    'job',
    [
      net.flag,
      '--kind=5100',
      '--input=a slow lighthouse',
      '--bid=20',
      `--provider=${provider.npub}`,
      '--timeout=20',
      '--json'
    ],
    { cwd: dir }
  )
  const request = await provider.nextRequest()
  const invoice = await provider.invoice(8000)
  const sha256 = createHash('sha256').update('never sent').digest('hex')
  await provider.deliver(request, url, {
    amountMsat: 8000,
    bolt11: invoice.bolt11,
    blob: { sha256, mime: 'image/png' }
  })
  await arrived
  job.kill('SIGINT')
  const summary = await job.json()
  expect(await job.exited).toBe(6)
  expect(summary).toMatchObject({ status: 'cancelled', msat_paid: 0 })
  expect((await provider.pool.query({ kinds: [5], '#e': [request.id] }, 2000)).length).toBe(1)
  expect(net.balanceMsat('customer')).toBe(before)
  expect(net.devnet.wallet.lookupInvoice('provider', { paymentHash: invoice.paymentHash }).state).not.toBe('settled')
})
