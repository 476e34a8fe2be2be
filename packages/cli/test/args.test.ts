import { describe, expect, test } from 'vitest'
import { CliError, helpText, parseFlags, type CommandSpec } from '../src/index.js'

const spec: CommandSpec = {
  bin: 'demo-bin',
  summary: 'a test command',
  usage: ['demo-bin [flags]'],
  flags: {
    budget: { type: 'integer', description: 'sats', min: 1, env: 'DEMO_BUDGET', default: 500 },
    port: { type: 'integer', description: 'port', min: 0, max: 65535, default: 8080 },
    host: { type: 'string', description: 'host', default: '127.0.0.1', env: 'DEMO_HOST' },
    devnet: { type: 'string', description: 'local network', optionalValue: '.2020117-devnet', placeholder: 'PATH' },
    yes: { type: 'boolean', description: 'no prompt', env: 'DEMO_YES' },
    relays: { type: 'string', description: 'relays', multiple: true, env: 'DEMO_RELAYS' },
    nwc: { type: 'string', description: 'wallet', secret: true, env: 'DEMO_NWC' },
    mode: { type: 'string', description: 'mode', choices: ['a', 'b'] }
  },
  examples: ['demo-bin --budget=10']
}

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}, file: Record<string, string | number | boolean> = {}) =>
  parseFlags(spec, argv, { env, file })

function errorOf(fn: () => unknown): CliError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(CliError)
    return err as CliError
  }
  throw new Error('expected a CliError')
}

describe('parseFlags', () => {
  test('defaults, --flag=value and --flag value', () => {
    expect(parse([]).values).toMatchObject({ budget: 500, port: 8080, host: '127.0.0.1' })
    expect(parse(['--budget=42', '--port', '9000']).values).toMatchObject({ budget: 42, port: 9000 })
  })

  test('precedence: flag over environment over file over default', () => {
    expect(parse([], {}, { budget: 3 }).values.budget).toBe(3)
    expect(parse([], { DEMO_BUDGET: '2' }, { budget: 3 }).values.budget).toBe(2)
    expect(parse(['--budget=1'], { DEMO_BUDGET: '2' }, { budget: 3 }).values.budget).toBe(1)
    expect(parse(['--budget=1'], { DEMO_BUDGET: '2' }).sources.budget).toBe('flag')
    expect(parse([], { DEMO_BUDGET: '2' }).sources.budget).toBe('env')
  })

  test('a flag with an optional value', () => {
    expect(parse(['--devnet']).values.devnet).toBe('.2020117-devnet')
    expect(parse(['--devnet=/tmp/x']).values.devnet).toBe('/tmp/x')
    expect(parse([]).values.devnet).toBeUndefined()
  })

  test('booleans and repeatable flags, also from the environment', () => {
    expect(parse(['--yes']).values.yes).toBe(true)
    expect(parse([], { DEMO_YES: '1' }).values.yes).toBe(true)
    expect(parse(['--relays=ws://a', '--relays', 'ws://b']).values.relays).toEqual(['ws://a', 'ws://b'])
    expect(parse([], { DEMO_RELAYS: 'ws://a,ws://b' }).values.relays).toEqual(['ws://a', 'ws://b'])
  })

  test('unknown flags are errors that name the flag and suggest the nearest', () => {
    const err = errorOf(() => parse(['--budjet=5']))
    expect(err.code).toBe('UNKNOWN_FLAG')
    expect(err.message).toContain('--budjet')
    expect(err.message).toContain('--budget')
    expect(err.exitCode).toBe(2)
  })

  test('bad values are errors that name the flag', () => {
    expect(errorOf(() => parse(['--budget=abc'])).message).toMatch(/--budget must be a whole number/)
    expect(errorOf(() => parse(['--budget=0'])).message).toMatch(/--budget must be at least 1/)
    expect(errorOf(() => parse(['--port=70000'])).message).toMatch(/--port must be at most 65535/)
    expect(errorOf(() => parse(['--mode=c'])).message).toMatch(/--mode must be one of a, b/)
    expect(errorOf(() => parse(['--budget'])).message).toMatch(/--budget needs a value/)
    expect(errorOf(() => parse(['--yes=1'])).message).toMatch(/--yes takes no value/)
    expect(errorOf(() => parse([], { DEMO_BUDGET: 'x' })).code).toBe('INVALID_FLAG')
    expect(errorOf(() => parse(['stray'])).code).toBe('UNEXPECTED_ARGUMENT')
  })

  test('--help wins', () => {
    expect(parse(['--budget=abc', '--help']).help).toBe(true)
  })
})

test('help lists every flag with its default and environment variable, and examples', () => {
  const text = helpText(spec)
  for (const name of Object.keys(spec.flags)) expect(text).toContain(`--${name}`)
  expect(text).toContain('default: 500')
  expect(text).toContain('env: DEMO_BUDGET')
  expect(text).toContain('demo-bin --budget=10')
  expect(text).toContain('--devnet[=PATH]')
})

test('a repeatable flag takes a list from the keys file', () => {
  expect(parseFlags(spec, [], { env: {}, file: { relays: ['ws://a', 'ws://b'] } }).values.relays).toEqual([
    'ws://a',
    'ws://b'
  ])
  expect(parseFlags(spec, ['--relays=ws://c'], { env: {}, file: { relays: ['ws://a'] } }).values.relays).toEqual([
    'ws://c'
  ])
})
