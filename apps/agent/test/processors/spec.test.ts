// createProcessor accepts the three --processor forms and refuses anything else at start-up,
// with INVALID_PROCESSOR and a message that says what to write instead.

import { expect, test } from 'vitest'
import { createProcessor, ProcessorError } from '../../src/processors/index.js'
import { fixture } from './helpers.js'

function refusal(spec: string, opts = {}): ProcessorError {
  try {
    createProcessor(spec, opts)
  } catch (err) {
    expect(err).toBeInstanceOf(ProcessorError)
    return err as ProcessorError
  }
  throw new Error(`${spec} was accepted`)
}

test.each([
  ['exec:', 'names no program'],
  ['exec:   ', 'names no program'],
  [`exec:${fixture('args.sh')} | tee out`, 'shell operator |'],
  [`exec:${fixture('args.sh')} > out`, 'shell operator >'],
  [`exec:${fixture('args.sh')} ; rm -rf x`, 'shell operator ;'],
  [`exec:${fixture('args.sh')} $NWC_URI`, 'uses $NWC_URI'],
  [`exec:${fixture('args.sh')} "$HOME"`, 'uses $HOME'],
  [`exec:${fixture('args.sh')} *.txt`, 'pattern *.txt'],
  [`exec:${fixture('args.sh')} # note`, '# comment'],
  ['exec:/no/such/program', 'missing or not executable'],
  [`exec:${fixture('not-executable.txt')}`, 'missing or not executable'],
  ['ftp://127.0.0.1:21', 'is not a processor'],
  ['http://127.0.0.1:7860/sdapi', 'without a path'],
  ['http://127.0.0.1:7860/?x=1', 'without a path'],
  ['http://user:pw@127.0.0.1:7860', 'credentials'],
  ['http://', 'is not a URL'],
  ['ollama', '--model=NAME'],
  ['llama3.2', 'is not a processor']
])('%s is refused (%s)', (spec, why) => {
  const err = refusal(spec)
  expect(err.code).toBe('INVALID_PROCESSOR')
  expect(err.message).toContain(why)
})

test('a refusal of credentials does not repeat them', () => {
  expect(refusal('http://user:hunter2@127.0.0.1:7860').message).not.toContain('hunter2')
})

test('an http upstream with --api=ollama needs a model', () => {
  expect(refusal('http://127.0.0.1:11434', { api: 'ollama' }).message).toContain('--model=NAME')
})

test('each accepted form says what it runs', () => {
  expect(createProcessor(`exec:${fixture('args.sh')} 'two words'`).describe).toBe(
    `exec ${fixture('args.sh')} 'two words'`
  )
  expect(createProcessor('http://127.0.0.1:7860/', { api: 'a1111' }).describe).toBe('http://127.0.0.1:7860 (a1111)')
  expect(createProcessor('http://127.0.0.1:7860').describe).toBe(
    'http://127.0.0.1:7860 (API detected on the first job)'
  )
  expect(createProcessor('ollama', { model: 'llama3.2' }).describe).toBe('http://127.0.0.1:11434 (ollama)')
})
