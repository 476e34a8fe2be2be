// Small bounded structures for state a stranger can grow: the most recent keys (the oldest
// forgotten first), and a rate window (at most n takes per window).

/** A map of at most `max` keys; setting a key when full forgets the oldest. */
export class Recent<V = true> {
  private readonly map = new Map<string, V>()
  constructor(private readonly max: number) {}

  has(key: string): boolean {
    return this.map.has(key)
  }

  get(key: string): V | undefined {
    return this.map.get(key)
  }

  add(key: string): void {
    this.set(key, true as V)
  }

  set(key: string, value: V): void {
    this.map.delete(key)
    this.map.set(key, value)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string)
  }
}

/** At most `limit` takes in any `windowMs`. */
export class RateWindow {
  private readonly times: number[] = []
  constructor(
    private readonly limit: number,
    private readonly windowMs: number
  ) {}

  take(now = Date.now()): boolean {
    while (this.times.length > 0 && this.times[0]! <= now - this.windowMs) this.times.shift()
    if (this.times.length >= this.limit) return false
    this.times.push(now)
    return true
  }
}
