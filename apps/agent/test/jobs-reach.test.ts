// Where a stranger's request may send the provider (src/jobs/reach.ts): answer relays and url
// inputs on loopback, private or link-local hosts are refused unless they are our own relays or
// the agent runs on the local network.

import { expect, test } from 'vitest'
import { answerRelays, isPublicHost, reachable } from '../src/jobs/reach.js'

const own = ['wss://relay.ours.example']

test('answers go to our relays and to the public relays a request names, at most 8', () => {
  const policy = { own, local: false }
  expect(
    answerRelays(['wss://relay.theirs.example', 'ws://127.0.0.1:7000', 'ws://192.168.1.10', 'wss://[::1]:443'], policy)
  ).toEqual(['wss://relay.ours.example', 'wss://relay.theirs.example'])
  const many = Array.from({ length: 12 }, (_, i) => `wss://r${i}.example`)
  expect(answerRelays(many, policy)).toHaveLength(8)
  expect(answerRelays(many, policy)[0]).toBe(own[0])
})

test('our own relay is answered even on loopback; under --devnet loopback is allowed', () => {
  expect(answerRelays(['ws://127.0.0.1:7000'], { own: ['ws://127.0.0.1:7000'], local: false })).toEqual([
    'ws://127.0.0.1:7000'
  ])
  expect(answerRelays(['ws://127.0.0.1:9'], { own: ['ws://127.0.0.1:7000'], local: true })).toEqual([
    'ws://127.0.0.1:7000',
    'ws://127.0.0.1:9'
  ])
})

test('hosts that are not public: loopback, private, CGNAT, link-local, unspecified, local names, mapped v4', () => {
  for (const host of [
    '127.0.0.1',
    '127.5.5.5',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '[::1]',
    '::',
    'fc00::1',
    'fd12::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    'localhost',
    'a.localhost',
    'printer.local',
    '224.0.0.1'
  ])
    expect(isPublicHost(host), host).toBe(false)
  for (const host of ['relay.damus.io', '8.8.8.8', '172.32.0.1', '2001:db8::1'])
    expect(isPublicHost(host), host).toBe(true)
})

test('a url input must be http(s) on a public host', () => {
  const policy = { own, local: false }
  expect(reachable('https://example.com/a.txt', policy, ['http:', 'https:'])).toBe(true)
  expect(reachable('http://169.254.169.254/latest/meta-data', policy, ['http:', 'https:'])).toBe(false)
  expect(reachable('file:///etc/passwd', policy, ['http:', 'https:'])).toBe(false)
  expect(reachable('http://127.0.0.1:7860/', { own, local: true }, ['http:', 'https:'])).toBe(true)
})
