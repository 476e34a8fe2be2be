// Token buckets: `burst` tokens, refilled at `perSecond`; each event or REQ takes one. Time is the
// monotonic clock (performance.now), so a wall-clock jump neither refills nor drains a bucket.

import { performance } from 'node:perf_hooks'

export interface Rate {
  readonly perSecond: number
  readonly burst: number
}

export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly rate: Rate,
    now = performance.now()
  ) {
    this.tokens = rate.burst
    this.last = now
  }

  /** Takes one token if there is one. */
  take(now = performance.now()): boolean {
    this.refill(now)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Whether the bucket has refilled completely: forgetting it then changes nothing. */
  isFull(now = performance.now()): boolean {
    this.refill(now)
    return this.tokens >= this.rate.burst
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.last) / 1000) * this.rate.perSecond)
    this.last = now
  }
}

/**
 * One bucket per key (a pubkey), at most `maxKeys` of them: a stream of fresh keys evicts the
 * least recently used bucket instead of growing memory. Evicting gives that key a full bucket
 * again, so the bound is on memory, not a way to throttle someone else.
 */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>()

  constructor(
    private readonly rate: Rate,
    private readonly maxKeys: number
  ) {}

  get size(): number {
    return this.buckets.size
  }

  take(key: string, now = performance.now()): boolean {
    let bucket = this.buckets.get(key)
    if (bucket) {
      // Map order is insertion order: re-inserting keeps the least recently used first.
      this.buckets.delete(key)
    } else {
      bucket = new TokenBucket(this.rate, now)
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string)
    }
    this.buckets.set(key, bucket)
    return bucket.take(now)
  }

  /** Forgets every bucket that has refilled: an idle key costs no memory. */
  sweep(now = performance.now()): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key)
  }
}
