// The gateway's one canonical form of a request target (SPEC §6.2), as a pure function: what each
// form becomes, what is refused, and that the form is a fixed point (canonicalising it again
// changes nothing). The end-to-end check through the real agent is gateway-deny-path.test.ts.

import { randomInt } from 'node:crypto'
import { expect, test } from 'vitest'
import { canonicalTarget } from '../src/gateway.js'

test('canonical forms: unreserved escapes decoded, other escapes upper-cased, slashes folded, dot segments resolved, query kept', () => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['//a///b/', '/a/b/'],
    ['/a/./b/../c', '/a/c'],
    ['/../../a', '/a'],
    ['/a/%2e%2E/b', '/b'],
    ['/a/.%2e', '/'],
    ['/%61%7e%2D%5f', '/a~-_'],
    ['/%3a%c3%a9', '/%3A%C3%A9'],
    ['/a?b=..//c&d=%2f', '/a?b=..//c&d=%2f'],
    ['/a"b<c>`{}', '/a%22b%3Cc%3E%60%7B%7D'],
    ['/a/.', '/a/'],
    ['/a/..', '/'],
    ['/a/../', '/'],
    // Node 20's URL parser (Ada 2.9) leaves these dot segments in place.
    ['/x:/.a/../../admin', '/admin'],
    ['/x/.:/../../admin', '/admin'],
    ['/:/.B:A./..', '/:/'],
    // Forwarded as they are: nothing between the check and the upstream rebuilds the path.
    ['/http:/x', '/http:/x'],
    ['/https://x', '/https:/x']
  ]
  for (const [raw, expected] of cases)
    expect(canonicalTarget(raw), raw).toEqual({ target: expected, path: expected.split('?')[0] })
})

test('refused: non-origin forms, backslash, fragment, controls, raw non-ASCII, escaped / and \\, malformed escapes', () => {
  for (const raw of [
    '',
    '*',
    'http://x/a',
    'a/b',
    '/a\\b',
    '/a#b',
    '/a?b#c',
    '/a b',
    '/a\tb',
    '/a\x7f',
    '/a\u00e9',
    '/a?\u00e9',
    '/a%2fb',
    '/a%5Cb',
    '/a%00',
    '/a%1f',
    '/a%7F',
    '/a%',
    '/a%4',
    '/a%zz'
  ]) {
    expect(typeof canonicalTarget(raw), JSON.stringify(raw)).toBe('string')
  }
})

test('the canonical form is a fixed point of canonicalTarget, for random targets', () => {
  const alphabet = [
    '/',
    '/',
    '.',
    '..',
    '%2e',
    '%2E',
    '%2f',
    '%5c',
    '%41',
    '%7e',
    '%c3',
    '%25',
    'a',
    'B',
    '~',
    '?',
    '=',
    '&',
    ':',
    '@',
    '%',
    '"',
    ';',
    'http:/'
  ]
  for (let n = 0; n < 20_000; n++) {
    let raw = '/'
    for (let i = randomInt(12); i >= 0; i--) raw += alphabet[randomInt(alphabet.length)]
    const once = canonicalTarget(raw)
    if (typeof once === 'string') continue
    expect(canonicalTarget(once.target), raw).toEqual(once)
    expect(once.path, raw).not.toMatch(/\/\/|(^|\/)\.\.?(\/|$)|\\|#/)
  }
})
