import { createHash } from 'node:crypto'
import { MAX_KIND } from './constants.js'
import { ProtocolError } from './errors.js'

/**
 * The Hyperswarm topic on which providers of a service kind announce themselves (SPEC §2):
 * sha256 of the ASCII string `2020117:kind:<kind in decimal>`.
 */
export function kindTopic(kind: number): Uint8Array {
  if (!Number.isInteger(kind) || kind < 0 || kind > MAX_KIND)
    throw ProtocolError.INVALID_VALUE('kind', `must be an integer in [0, ${MAX_KIND}]`)
  return createHash('sha256').update(`2020117:kind:${kind}`).digest()
}
