// The request's proof of work (SPEC §12): a relay that enforces the default 10 bits for job requests
// but states no policy (its NIP-11 document is missing) refuses the first, unmined request with
// `pow:`; 2020117-job mines it to the bits the refusal names, publishes it once more, and then
// follows, pays and reports the request AS PUBLISHED (its new id): judged by the ledger.

import { createServer } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { afterAll, expect, test } from 'vitest'
import { committedPowBits } from '@2020117/protocol'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { startProvider } from './helpers/provider.js'

// The network's price for job requests (10 bits), and nothing else: the test is about the retry.
const net = await startTestNetwork({
  teardown: afterAll,
  relayPolicy: { pow: [{ kinds: [[5000, 5999]], bits: 10 }], eventsPerSecond: 10_000 }
})
const provider = await startProvider(net, 5050, { teardown: afterAll })

/** The devnet relay behind a front that answers its NIP-11 request 404 and passes WebSockets through. */
async function withoutPolicyDocument(relayUrl: string): Promise<string> {
  const { hostname, port } = new URL(relayUrl)
  const server = createServer((_req, res) => res.writeHead(404).end())
  server.on('upgrade', (req, socket, head) => {
    const upstream = connect(Number(port), hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      upstream.write(lines.join('\r\n') + '\r\n\r\n')
      upstream.write(head)
      socket.pipe(upstream).pipe(socket)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  afterAll(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`
}

test('refused pow: by a relay without a policy document, the request is mined, retried once and bought by its new id', async () => {
  const relay = await withoutPolicyDocument(net.devnet.relay.url)
  const before = net.balanceMsat('customer')
  const job = spawnBin('job', [
    net.flag,
    `--relays=${relay}`,
    '--kind=5050',
    '--input=mine me',
    '--bid=10',
    '--offer-wait=0',
    '--timeout=30',
    '--json'
  ])
  await job.line(/wanted more proof of work: mining 10 bits and publishing once more/)
  const request = await provider.nextRequest()
  expect(committedPowBits(request.event)).toBeGreaterThanOrEqual(10)
  await provider.paid(await provider.offer(request, 4000))
  await provider.deliver(request, 'mined and paid')
  const summary = await job.json()
  expect(await job.exited, job.stderr()).toBe(0)
  expect(summary).toMatchObject({ request_id: request.id, status: 'delivered', msat_paid: 4000 })
  expect(before - net.balanceMsat('customer')).toBe(4000)
})
