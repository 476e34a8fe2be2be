// JSON that a bin prints (--json lines and objects, status files) spells its keys in snake_case, as
// NIP-47 and Nostr events do: one convention for every bin, whatever the TypeScript names inside.

/** A copy of `value` whose plain-object keys are snake_case (`msatEarned` → `msat_earned`), at any depth. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys)
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return value
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(v)])
  )
}
