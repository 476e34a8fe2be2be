// Text that came from a peer (a provider's manifest and messages, a relay's events, an upstream's
// reply) and is shown to a person. It may carry terminal escapes (ESC [2K, CR) that rewrite what
// the terminal shows, bidi overrides that reorder it, or megabytes: each string is stripped of
// control characters and bounded before it reaches a log line, a prompt or a listing.

/**
 * C0 (includes ESC, CR, LF, TAB), DEL, C1 (includes the 8-bit CSI), the bidi embeddings,
 * overrides and isolates (U+202A-202E, U+2066-2069), the bidi marks (U+061C, U+200E, U+200F), and
 * the Unicode line and paragraph separators, which some terminals treat as newlines.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** A peer's string made safe to print: unsafe characters removed, at most `max` code points. */
export function peerText(value: unknown, max = 200): string {
  const raw = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value)
  const text = raw.replace(UNSAFE, '')
  // Count code points, not UTF-16 units, so a cut never splits a surrogate pair.
  const points = Array.from(text)
  return points.length > max ? points.slice(0, Math.max(0, max - 1)).join('') + '…' : text
}

/**
 * JSON for a person to read (a manifest): JSON.stringify escapes C0 already; DEL, C1 and the bidi
 * controls are escaped too (`\u202e`), so the text stays valid JSON, means the same, and shows them.
 */
export function peerJson(value: unknown, max = 64 * 1024): string {
  const safe = escapeControls(JSON.stringify(value, null, 2) ?? 'null')
  return safe.length > max ? safe.slice(0, max) + '\n… (cut at ' + max + ' characters)' : safe
}

/** A whole line for a terminal or a log: every unsafe character removed, nothing else changed. */
export function stripControls(text: string): string {
  return text.replace(UNSAFE, '')
}

/** What JSON.stringify leaves raw: UNSAFE but C0, which it escapes inside strings. */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** JSON text with the unsafe characters JSON.stringify leaves raw (DEL, C1, bidi) escaped. */
export function escapeControls(json: string): string {
  return json.replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
