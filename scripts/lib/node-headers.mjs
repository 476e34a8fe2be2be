// The relay's storage (better-sqlite3) is a native addon with no prebuilt binary offline, so its
// install builds it with node-gyp, which downloads Node's headers unless told where they are. A
// Node install carries them beside its binary (<prefix>/include/node). npm may know that from its
// own config (`nodedir`); pnpm does not, and neither does npm under a fresh HOME: this says it.

import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** `{ npm_config_nodedir }` when the running Node carries its headers and nothing set it already. */
export function nodeHeadersEnv(env = process.env) {
  const prefix = dirname(dirname(process.execPath))
  if (env.npm_config_nodedir || !existsSync(join(prefix, 'include', 'node', 'node.h'))) return {}
  return { npm_config_nodedir: prefix }
}
