// 2020117-job against the real 2020117-agent in job mode (issue 12's acceptance): a text job from the
// shipped example processor, an image job from the demo WebUI through the local Blossom server, and
// a cancellation the agent hears. The ledger judges every one: customer debit = provider credit =
// the summary's msat_paid = the agent's own record.

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import { spawnBin, startTestNetwork, type Proc } from '@2020117/testkit'
import { tempDir } from './helpers/temp.js'

const translate = fileURLToPath(new URL('../../agent/examples/translate.sh', import.meta.url))
const net = await startTestNetwork({ teardown: afterAll })

/** An agent selling one kind of job; resolves with it and its npub once it is ready. */
async function startAgent(args: string[]): Promise<{ agent: Proc; npub: string }> {
  const agent = spawnBin('agent', [net.flag, '--no-sessions', '--json', ...args])
  const ready = await agent.json<{ event: string; npub: string }>((e) => e.event === 'ready')
  return { agent, npub: ready.npub }
}

describe('2020117-job buys from 2020117-agent', () => {
  test('a translation from the exec: example processor, paid once, equal in the ledger and both records', async () => {
    const { agent, npub } = await startAgent(['--kind=5302', `--processor=exec:${translate}`, '--job-price=3'])
    const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
    const job = spawnBin('job', [
      net.flag,
      '--kind=5302',
      '--input=hello world good morning',
      '--param=lang=fr',
      '--bid=10',
      '--offer-wait=1',
      '--json'
    ])
    const summary = await job.json()
    expect(await job.exited, job.stderr()).toBe(0)
    expect(summary).toMatchObject({ provider: npub, status: 'delivered', msat_paid: 3000, fees_msat: 0 })
    expect(summary.result.trim()).toBe('bonjour monde bon matin')
    const paid = await agent.json<{ event: string; request_id: string; amount_msat: number }>(
      (e) => e.event === 'job_paid' && e.request_id === summary.request_id
    )
    expect(paid.amount_msat).toBe(3000)
    expect(before.customer - net.balanceMsat('customer')).toBe(3000)
    expect(net.balanceMsat('provider') - before.provider).toBe(3000)
    agent.kill('SIGINT')
    await agent.exited
  })

  test('an image job: the WebUI picture fetched from Blossom, its sha256 checked, saved as job-<id>.png', async () => {
    const webui = net.devnet.state.webui
    expect(webui).toBeTruthy()
    const { agent, npub } = await startAgent(['--kind=5100', `--processor=${webui}`, '--job-price=5'])
    const dir = await tempDir('job-agent-')
    const before = net.balanceMsat('customer')
    const job = spawnBin(
      'job',
      [net.flag, '--kind=5100', '--input=a lighthouse at dawn', '--bid=10', `--provider=${npub}`, '--json'],
      { cwd: dir }
    )
    const summary = await job.json()
    expect(await job.exited, job.stderr()).toBe(0)
    const file = join(dir, `job-${summary.request_id.slice(0, 12)}.png`)
    expect(summary).toMatchObject({ status: 'delivered', file, msat_paid: 5000 })
    const bytes = await readFile(file)
    expect(bytes.subarray(0, 4).toString('hex')).toBe('89504e47') // a PNG
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(summary.sha256)
    expect(before - net.balanceMsat('customer')).toBe(5000)
    agent.kill('SIGINT')
    await agent.exited
  })

  test('Ctrl-C while offers are collected: a kind 5 the agent acts on, nothing paid', async () => {
    const { agent } = await startAgent(['--kind=5302', `--processor=exec:${translate}`, '--job-price=3'])
    const before = { customer: net.balanceMsat('customer'), provider: net.balanceMsat('provider') }
    const job = spawnBin('job', [
      net.flag,
      '--kind=5302',
      '--input=hello',
      '--param=lang=es',
      '--bid=10',
      '--offer-wait=60',
      '--json'
    ])
    await job.line(/offer from npub1/)
    job.kill('SIGINT')
    const summary = await job.json()
    expect(await job.exited).toBe(6)
    expect(summary).toMatchObject({ status: 'cancelled', msat_paid: 0 })
    await agent.line(/cancelled by its customer/)
    expect(net.balanceMsat('customer')).toBe(before.customer)
    expect(net.balanceMsat('provider')).toBe(before.provider)
    agent.kill('SIGINT')
    await agent.exited
  }, 120_000) // the cancellation (kind 5) is mined to 20 bits: seconds to tens of seconds
})
