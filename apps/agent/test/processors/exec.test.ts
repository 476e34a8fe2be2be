// The exec: processor runs the provider's program without a shell, with an environment that holds
// no secret, and nothing it starts outlives the job.

import { existsSync, mkdtempSync, readFileSync, rmSync, watch } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { createProcessor, ProcessorError, STDERR_TAIL_BYTES, TEXT_MIME } from '../../src/processors/index.js'
import { fixture, gone, isRunning, limits, text, work } from './helpers.js'

const dirs: string[] = []
const leaked: number[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'proc-test-'))
  dirs.push(dir)
  return dir
}

afterEach(() => {
  // A failing group-kill test must not leave its grandchild behind.
  for (const pid of leaked.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGKILL')
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function failure(promise: Promise<unknown>): Promise<ProcessorError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e
  )
  expect(err).toBeInstanceOf(ProcessorError)
  return err as ProcessorError
}

test('the input arrives on stdin and stdout is the output, byte for byte', async () => {
  const input = 'héllo ✓\nsecond line\n'
  const out = await createProcessor('exec:cat').run(work({ input }), limits())
  expect(text(out.data)).toBe(input)
  expect(out.mime).toBe(TEXT_MIME)
  // Its own bytes, not a view into Node's shared Buffer pool.
  expect(out.data.buffer.byteLength).toBe(out.data.byteLength)
})

test('the spec is split like a shell would quote it, and no shell runs it', async () => {
  const spec = `exec:${fixture('args.sh')} 'two words' "say \\"hi\\"" '$HOME' plain`
  const out = await createProcessor(spec).run(work(), limits())
  expect(text(out.data)).toBe('two words\nsay "hi"\n$HOME\nplain\n')
})

test('JOB_REQUEST carries the kind, the input type and the params as snake_case JSON', async () => {
  const job = work({ kind: 5302, inputType: 'url', params: { lang: 'fr', 'odd key': 'a "quoted" value' } })
  const out = await createProcessor(`exec:${fixture('job-request.sh')}`).run(job, limits())
  expect(JSON.parse(text(out.data))).toEqual({ kind: 5302, input_type: 'url', params: job.params })
})

test('the child gets the allowlisted environment only: no wallet URI, key or keys file', async () => {
  const secrets = {
    NWC_URI: 'nostr+walletconnect://abc?relay=ws://127.0.0.1:1&secret=' + 'f'.repeat(64),
    NOSTR_SECRET_KEY: 'nsec1' + 'q'.repeat(58),
    KEYS_FILE: '/home/provider/.2020117/keys.json',
    KEYS_AGENT: 'agent',
    AGENT_PROCESSOR: 'exec:env',
    RELAY_AUTH_TOKEN: 'token-' + 'z'.repeat(20)
  }
  const kept = { PATH: process.env.PATH, LANG: 'C.UTF-8', TZ: 'UTC' }
  const saved = { ...process.env }
  Object.assign(process.env, secrets, kept)
  let out
  try {
    out = await createProcessor('exec:env -0').run(work(), limits())
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
    Object.assign(process.env, saved)
  }
  const printed = text(out.data)
  const env = Object.fromEntries(
    printed
      .split('\0')
      .filter(Boolean)
      .map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)])
  )
  expect(Object.keys(env).sort()).toEqual(['HOME', 'JOB_REQUEST', 'LANG', 'PATH', 'TMPDIR', 'TZ'])
  expect(env).toMatchObject(kept)
  for (const value of Object.values(secrets)) expect(printed).not.toContain(value)
  expect(env.HOME).not.toBe(homedir())
  expect(env.TMPDIR).toBe(env.HOME)
  // The per-job home is removed with the job.
  expect(existsSync(env.HOME!)).toBe(false)
})

test('a timeout kills the whole process group, grandchildren included', async () => {
  const pidFile = join(tempDir(), 'pid')
  const run = createProcessor(`exec:${fixture('grandchild.sh')} ${pidFile}`).run(work(), limits({ timeoutMs: 1500 }))
  const err = await failure(run)
  expect(err.code).toBe('PROCESSOR_TIMEOUT')
  const grandchild = Number(readFileSync(pidFile, 'utf8'))
  leaked.push(grandchild)
  expect(grandchild).toBeGreaterThan(1)
  expect(await gone(grandchild)).toBe(true)
})

test('the abort signal kills the whole process group, grandchildren included', async () => {
  const dir = tempDir()
  const pidFile = join(dir, 'pid')
  const controller = new AbortController()
  // The grandchild's pid file is renamed into place once it runs: abort on that, not on a timer.
  const watcher = watch(dir, (_event, name) => {
    if (name === 'pid') controller.abort()
  })
  try {
    const spec = `exec:${fixture('grandchild.sh')} ${pidFile}`
    const err = await failure(createProcessor(spec).run(work(), limits({ signal: controller.signal })))
    expect(err.code).toBe('ABORTED')
  } finally {
    watcher.close()
  }
  const grandchild = Number(readFileSync(pidFile, 'utf8'))
  leaked.push(grandchild)
  expect(await gone(grandchild)).toBe(true)
})

test('a job already cancelled is not started', async () => {
  const marker = join(tempDir(), 'ran')
  const controller = new AbortController()
  controller.abort()
  const err = await failure(
    createProcessor(`exec:${fixture('marker.sh')} ${marker}`).run(work(), limits({ signal: controller.signal }))
  )
  expect(err.code).toBe('ABORTED')
  expect(existsSync(marker)).toBe(false)
})

test('stdout over the cap kills the child: OUTPUT_TOO_LARGE', async () => {
  // `yes` never ends on its own: only the cap's kill settles this run.
  const err = await failure(createProcessor('exec:yes').run(work(), limits({ maxOutputBytes: 1000 })))
  expect(err.code).toBe('OUTPUT_TOO_LARGE')
})

test('an output of exactly the cap is accepted, one byte more is not', async () => {
  const processor = createProcessor('exec:head -c 1000 /dev/zero')
  expect((await processor.run(work(), limits({ maxOutputBytes: 1000 }))).data.byteLength).toBe(1000)
  expect((await failure(processor.run(work(), limits({ maxOutputBytes: 999 })))).code).toBe('OUTPUT_TOO_LARGE')
})

test('a non-zero exit is PROCESSOR_FAILED with a bounded, control-stripped stderr tail', async () => {
  const err = await failure(createProcessor(`exec:${fixture('fail.sh')}`).run(work(), limits()))
  expect(err.code).toBe('PROCESSOR_FAILED')
  const tail = err.failure!.stderrTail
  expect(err.failure).toMatchObject({ exitCode: 3, signal: null })
  expect(tail.endsWith('red alert final words')).toBe(true)
  expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(STDERR_TAIL_BYTES)
  expect(tail).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/)
  // The earliest lines were cut: only the tail is kept.
  expect(tail).not.toContain('filler line 0 ')
  expect(err.message).toContain(tail)
  expect(err.message).toContain('code 3')
})

test('an output whose first bytes are a PNG signature is image/png', async () => {
  const out = await createProcessor(`exec:${fixture('png.sh')}`).run(work(), limits())
  expect(out.mime).toBe('image/png')
  expect(Buffer.from(out.data).subarray(0, 4).toString('latin1')).toBe('\x89PNG')
})

test('a program that is not on PATH is INVALID_PROCESSOR when the job runs', async () => {
  const err = await failure(createProcessor('exec:no-such-program-2020117').run(work(), limits()))
  expect(err.code).toBe('INVALID_PROCESSOR')
  expect(err.message).toContain('ENOENT')
})
