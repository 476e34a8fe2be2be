// Hostile review of issue 13: a report's reason (and a review's text) is published to every relay
// for anyone to read. 2020117-session refuses a review text that holds the customer's secret; the
// trust bin published a report reason that held its own nsec. Refused before anything is sent, as
// a usage error, without echoing the secret; the relay holds no report.

import { afterAll, expect, test } from 'vitest'
import { nip19 } from 'nostr-tools'
import { startTestNetwork } from '@2020117/testkit'
import { kinds } from '@2020117/protocol'
import { people, stranger } from './helpers/people.js'

const net = await startTestNetwork({ teardown: afterAll })
const { reporter, pool } = await people(net, ['reporter'])

test('a report whose --reason holds our own nsec is refused and never published', async () => {
  const nsec = nip19.nsecEncode(reporter.secretKey)
  const provider = stranger()
  const run = reporter.trust(['report', provider.npub, '--type=spam', `--reason=oops ${nsec}`])
  expect(await run.exited).toBe(2)
  expect(run.stderr()).toMatch(/--reason .*secret/)
  expect(run.stdout() + run.stderr()).not.toContain(nsec)
  expect(await pool.query({ kinds: [kinds.Report], authors: [reporter.pubkey] })).toEqual([])
})
