// Where the agent keeps its record of credited payments (src/credited.ts; the record itself is
// @2020117/files' ClaimRecord, tested there).

import { expect, test } from 'vitest'
import { creditedPath } from '../src/credited.js'

test('the record of agent "a/b" lives beside its keys file, under a name that stays in that directory', () => {
  expect(creditedPath('/home/p/.2020117_keys', 'a/../b')).toBe('/home/p/.2020117_credited_a_.._b.json')
})
