// startTestNetwork is one call with its teardown handed in, as hyperswarm's createTestnet(3, t.teardown).

import { existsSync } from 'node:fs'
import { expect, onTestFinished, test } from 'vitest'
import { startTestNetwork } from '@2020117/testkit'

let dir = ''

test('a network started with teardown: onTestFinished runs while the test does', async () => {
  const network = await startTestNetwork({ teardown: onTestFinished })
  dir = network.dir
  expect(existsSync(dir)).toBe(true)
  expect(network.devnet.state.bootstrap.length).toBeGreaterThan(0)
})

test('and is closed, its directory gone, once that test finished', () => {
  expect(dir).not.toBe('')
  expect(existsSync(dir)).toBe(false)
})
