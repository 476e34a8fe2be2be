// The bin frame's own helpers: teardown order (createGoodbye) and the one JSON case (snakeKeys).

import { describe, expect, test } from 'vitest'
import { createGoodbye, snakeKeys } from '../src/index.js'

describe('createGoodbye', () => {
  test('runs the last made first, once, and a failing teardown does not stop the others', async () => {
    const { goodbye, teardown } = createGoodbye()
    const order: string[] = []
    goodbye(() => order.push('wallet'))
    goodbye(() => {
      throw new Error('listener already closed')
    })
    goodbye(async () => void order.push('swarm'))
    await Promise.all([teardown(), teardown()])
    await teardown()
    expect(order).toEqual(['swarm', 'wallet'])
  })
})

describe('snakeKeys', () => {
  test('renames plain-object keys at any depth and leaves values and record keys alone', () => {
    expect(
      snakeKeys({
        event: 'summary',
        msatEarned: 7,
        sessions: [{ sessionId: 'ab', ticksPaid: 1 }],
        prices: { '5200': 5 },
        note: 'camelCase in a value stays'
      })
    ).toEqual({
      event: 'summary',
      msat_earned: 7,
      sessions: [{ session_id: 'ab', ticks_paid: 1 }],
      prices: { '5200': 5 },
      note: 'camelCase in a value stays'
    })
  })
})
