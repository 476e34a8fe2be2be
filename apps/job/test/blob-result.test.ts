// A result that is a link (NIP-90 image kinds): the provider uploads the blob to the local network's
// Blossom server, and 2020117-job fetches it, checks its sha256 against the result's `x` tag, and
// writes it under a name of its own choosing. A blob that does not match is never written.

import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { uploadBlob } from '@2020117/blossom'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { tempDir } from './helpers/temp.js'
import { startProvider } from './helpers/provider.js'

const net = await startTestNetwork({ teardown: afterAll })
const provider = await startProvider(net, 5100, { teardown: afterAll })

function buy(cwd: string) {
  return spawnBin(
    'job',
    [
      net.flag,
      '--kind=5100',
      '--input=a lighthouse',
      '--bid=20',
      `--provider=${provider.npub}`,
      '--timeout=30',
      '--json'
    ],
    { cwd }
  )
}

async function upload(bytes: Uint8Array): Promise<{ url: string; sha256: string }> {
  const server = net.devnet.state.blossom
  if (!server) throw new Error('the test network runs no Blossom server')
  return uploadBlob(server, bytes, { secretKey: provider.secretKey, mime: 'image/png' })
}

test('an image result is fetched from Blossom, its sha256 checked, and saved as job-<id>.png', async () => {
  const dir = await tempDir('job-blob-')
  const before = net.balanceMsat('customer')
  const image = randomBytes(50_000)
  const job = buy(dir)
  const request = await provider.nextRequest()
  await provider.paid(await provider.offer(request, 8000))
  const blob = await upload(image)
  // The `m` tag and the URL are the provider's: the file name comes from neither.
  await provider.deliver(request, blob.url, { blob: { sha256: blob.sha256, mime: 'image/png' } })
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  const file = join(dir, `job-${request.id.slice(0, 12)}.png`)
  expect(summary).toMatchObject({
    status: 'delivered',
    file,
    sha256: blob.sha256,
    bytes: image.length,
    msat_paid: 8000
  })
  expect(summary.result).toBeUndefined()
  const written = await readFile(file)
  expect(createHash('sha256').update(written).digest('hex')).toBe(blob.sha256)
  expect(before - net.balanceMsat('customer')).toBe(8000)
})

test('a blob whose bytes do not hash to the x tag is not written: exit 9, the payment still in the summary', async () => {
  const dir = await tempDir('job-blob-')
  const before = net.balanceMsat('customer')
  const job = buy(dir)
  const request = await provider.nextRequest()
  await provider.paid(await provider.offer(request, 8000))
  const blob = await upload(randomBytes(1000))
  const claimed = createHash('sha256').update('something else').digest('hex')
  await provider.deliver(request, blob.url, { blob: { sha256: claimed, mime: 'image/png' } })
  const summary = await job.json()
  expect(await job.exited).toBe(9)
  expect(summary).toMatchObject({ status: 'output_failed', msat_paid: 8000 })
  expect(summary.message).toMatch(/sha256|hash/i)
  expect(await readdir(dir)).toEqual([])
  expect(before - net.balanceMsat('customer')).toBe(8000)
})
