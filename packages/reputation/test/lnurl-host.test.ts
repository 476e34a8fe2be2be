// A profile's lud16 is a stranger's string, and reading it makes this machine open a connection to
// the host it names: on a public network it must not name this machine or its private network.

import { expect, test } from 'vitest'
import { strangerLnurlAllowed } from '@2020117/reputation'

test('a lud16 that names a loopback, private, link-local or numeric host is not read', () => {
  for (const lud16 of [
    'x@127.0.0.1',
    'x@127.1.2.3:443',
    'x@localhost',
    'x@[::1]',
    'x@10.0.0.1:443',
    'x@172.16.5.4',
    'x@192.168.1.1',
    'x@169.254.169.254',
    'x@100.64.0.1',
    'x@0.0.0.0',
    'x@2130706433',
    'x@0x7f000001',
    'x@printer.local',
    'x@db.internal',
    'x@[fd00::1]',
    'x@[fe80::1]',
    'not an address'
  ])
    expect(strangerLnurlAllowed(lud16), lud16).toBe(false)
})

test('a lud16 on a public name or address is read', () => {
  for (const lud16 of ['alice@getalby.com', 'bob@walletofsatoshi.com:443', 'c@8.8.8.8', 'd@sub.example.org'])
    expect(strangerLnurlAllowed(lud16), lud16).toBe(true)
})
