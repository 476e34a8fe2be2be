// The README's job quickstart runs examples/translate.sh through the exec processor: it must work
// as shipped (executable, POSIX sh, reading the lang param from JOB_REQUEST).

import { accessSync, constants } from 'node:fs'
import { expect, test } from 'vitest'
import { createProcessor, ProcessorError } from '../../src/processors/index.js'
import { example, limits, text, work } from './helpers.js'

const translator = () => createProcessor(`exec:${example('translate.sh')}`)

test('translate.sh is shipped executable', () => {
  expect(() => accessSync(example('translate.sh'), constants.X_OK)).not.toThrow()
})

test('translate.sh translates the words it knows into the lang param', async () => {
  const input = 'Hello, world! Good night, my friend.\n'
  const fr = await translator().run(work({ input, params: { lang: 'fr' } }), limits())
  expect(text(fr.data)).toBe('bonjour, monde! bon nuit, my ami.\n')
  const de = await translator().run(work({ input: 'cat and dog', params: { lang: 'de' } }), limits())
  expect(text(de.data)).toBe('Katze and Hund\n')
})

test('translate.sh without a lang param fails the job and says which param to send', async () => {
  const err = await translator()
    .run(work({ input: 'hello' }), limits())
    .catch((e: unknown) => e)
  expect(err).toBeInstanceOf(ProcessorError)
  expect((err as ProcessorError).code).toBe('PROCESSOR_FAILED')
  expect((err as ProcessorError).failure).toMatchObject({ exitCode: 2 })
  expect((err as ProcessorError).failure!.stderrTail).toContain('["param", "lang", "fr"]')
})
