// The REPL's `generate` saves what the provider returns, but the file names are the customer's
// own: a provider whose txt2img reply carries seeds like "1/../../evil" creates nothing outside
// --output-dir and overwrites nothing, anywhere. Real bins: the agent rents out a recording
// upstream that answers txt2img with the hostile seeds.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawnBin, startTestNetwork } from '@2020117/testkit'
import { startRecordingUpstream, type RecordingUpstream } from './helpers/local-upstream.js'

const network = await startTestNetwork({ teardown: afterAll })
let upstream: RecordingUpstream
let root: string

const PNG = Buffer.from('\x89PNG\r\n\x1a\nfrom the provider', 'latin1')
const HOSTILE_SEEDS = ['1/../../evil', '/../../../escaped', '../x', 'a\\..\\..\\win']

beforeAll(async () => {
  upstream = await startRecordingUpstream({
    txt2img: () => ({
      images: HOSTILE_SEEDS.map(() => PNG.toString('base64')),
      info: JSON.stringify({ seed: '../../x', all_seeds: HOSTILE_SEEDS })
    })
  })
  root = await mkdtemp(join(tmpdir(), '2020117-local-output-'))
})

afterAll(async () => {
  await upstream?.close()
  if (root) await rm(root, { recursive: true, force: true })
})

test('generate with hostile seeds from the provider writes only inside --output-dir, and overwrites nothing', async () => {
  // root/a/work is the working directory; its evil.png and a/escaped.png are what a path from the
  // seeds would reach.
  const work = join(root, 'a', 'work')
  await mkdir(work, { recursive: true })
  await writeFile(join(work, 'evil.png'), 'original')
  await writeFile(join(root, 'a', 'escaped.png'), 'original too')

  const agent = spawnBin('agent', [
    network.flag,
    `--processor=${upstream.url}`,
    '--sats-per-minute=5',
    '--tick-seconds=5',
    '--json'
  ])
  const ready = await agent.json<{ event: string; swarm_key: string }>((e) => e.event === 'ready')
  const session = spawnBin(
    'session',
    [network.flag, '--budget=500', '--port=0', '--yes', '--repl', '--output-dir=out', `--swarm-key=${ready.swarm_key}`],
    { cwd: work, stdin: 'pipe' }
  )
  await session.line(/type help for commands/)
  session.write('generate "a red fox" --width=64 --height=64\n')
  await session.line(/saved |error: /)
  session.write('quit\n')
  await session.line(/session ended: CUSTOMER_QUIT/)
  expect(await session.exited).toBe(0)
  expect(
    upstream.seen.some((s) => s.url === '/sdapi/v1/txt2img'),
    'the txt2img reached the upstream'
  ).toBe(true)

  expect(await readFile(join(work, 'evil.png'), 'utf8')).toBe('original')
  expect(await readFile(join(root, 'a', 'escaped.png'), 'utf8')).toBe('original too')
  expect((await readdir(root)).sort()).toEqual(['a'])
  expect((await readdir(join(root, 'a'))).sort()).toEqual(['escaped.png', 'work'])
  expect((await readdir(work)).sort()).toEqual(['evil.png', 'out'])
  const saved = await readdir(join(work, 'out'))
  expect(saved).toHaveLength(HOSTILE_SEEDS.length)
  for (const name of saved) {
    expect(name).toMatch(/^[0-9A-Za-z-]+\.png$/)
    expect(await readFile(join(work, 'out', name))).toEqual(PNG)
  }
  // What the session said it saved is what is there, and names no path from the provider.
  const line = session
    .stdout()
    .split('\n')
    .find((l) => l.startsWith('saved ')) as string
  expect(line).not.toMatch(/\.\.|evil|escaped|win/)
}, 90_000)

test('an image is saved under a free name: an existing file is never overwritten', async () => {
  const dir = await mkdtemp(join(root, 'exclusive-'))
  await writeFile(join(dir, 'img.png'), 'first')
  await writeFile(join(dir, 'img-1.png'), 'second')
  const { saveExclusive } = await import('../src/repl.js')
  const file = await saveExclusive(dir, 'img', Buffer.from('third'))
  expect(file).toBe(join(dir, 'img-2.png'))
  expect(await readFile(join(dir, 'img.png'), 'utf8')).toBe('first')
  expect(await readFile(join(dir, 'img-1.png'), 'utf8')).toBe('second')
  expect(await readFile(join(dir, 'img-2.png'), 'utf8')).toBe('third')
})

test("a provider's reply is read up to a bound, never whole into memory", async () => {
  const { readBounded } = await import('../src/repl.js')
  const body = () => new Response(new Blob([Buffer.alloc(1000, 'a'), Buffer.alloc(1000, 'b')]))
  await expect(readBounded(body(), 1500)).rejects.toThrow(/larger than/)
  expect(await readBounded(body(), 2000)).toHaveLength(2000)
})
