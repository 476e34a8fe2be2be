import { expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { startProvider } from './helpers/provider.js'
test('debug', async () => {
  const net = await startTestNetwork({ teardown: (c) => void c })
  console.log('net up')
  const provider = await startProvider(net, 5050)
  console.log('provider up')
  const job = spawnBin('job', [
    net.flag,
    '--kind=5050',
    '--input=hi',
    '--bid=10',
    '--offer-wait=0',
    '--timeout=8',
    '--json',
    '-v'
  ])
  const t = setTimeout(() => console.log('STDERR', job.stderr(), 'STDOUT', job.stdout()), 9000)
  void job.exited.then((c) => console.log('EXITED', c, job.stderr(), job.stdout()))
  const request = await provider.nextRequest()
  console.log('got request')
  const invoice = await provider.offer(request, 3000, {
    invoice: { bolt11: 'lnbcrt1xyz', paymentHash: 'a'.repeat(64) }
  })
  console.log('offered')
  console.log('exit', await job.exited)
  await provider.paid(invoice)
  console.log('paid')
  await provider.deliver(request, 'hello back')
  console.log(await job.exited, job.stderr(), job.stdout())
  clearTimeout(t)
}, 20000)
