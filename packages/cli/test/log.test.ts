import { expect, test } from 'vitest'
import { createLogger, holdsSecret, redactText, walletSecretForms } from '../src/index.js'

const nwc = 'nostr+walletconnect://' + 'a'.repeat(64) + '?relay=ws%3A%2F%2F127.0.0.1%3A1&secret=' + 'b'.repeat(64)
const nsec = 'nsec1' + 'q'.repeat(58)

test('NWC secrets and nsec keys are redacted by pattern', () => {
  const out = redactText(`connecting with ${nwc} as ${nsec}`)
  expect(out).not.toContain('b'.repeat(64))
  expect(out).not.toContain(nsec)
  expect(out).toContain('a'.repeat(64)) // the wallet pubkey is public
  expect(redactText('{"privkey":"abc123"}')).toBe('{"privkey":"[redacted]"}')
})

test('registered secrets never reach a log line at any level', () => {
  const lines: string[] = []
  const log = createLogger({ level: 'trace', write: (l) => lines.push(l) })
  const hex = 'c'.repeat(64)
  log.addSecret(hex)
  log.trace('key is ' + hex, { nested: { key: hex } })
  log.error('upper ' + hex.toUpperCase())
  log.info('json', { uri: nwc })
  expect(lines.join('\n')).not.toMatch(/c{64}|C{64}|b{64}/)
  expect(lines).toHaveLength(3)
})

test('levels filter and JSON lines parse', () => {
  const lines: string[] = []
  const log = createLogger({ level: 'info', json: true, write: (l) => lines.push(l) })
  log.debug('hidden')
  log.info('shown', { n: 1, bytes: new Uint8Array([1, 2]) })
  expect(lines).toHaveLength(1)
  expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'info', msg: 'shown', n: 1, bytes: '0102' })
})

test('holdsSecret finds a secret in any case, ignores forms too short to mean anything; walletSecretForms gives the URI and its secret', () => {
  const secret = 'ab'.repeat(32)
  const uri = `nostr+walletconnect://${'cd'.repeat(32)}?relay=ws%3A%2F%2F127.0.0.1&secret=${secret}`
  expect(walletSecretForms(uri)).toEqual([uri, secret])
  expect(walletSecretForms(null)).toEqual([])
  expect(holdsSecret(`great service, here: ${secret.toUpperCase()}`, walletSecretForms(uri))).toBe(true)
  expect(holdsSecret('great service', walletSecretForms(uri))).toBe(false)
  expect(holdsSecret('a short one: abc', ['abc'])).toBe(false)
})
