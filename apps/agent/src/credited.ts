// Where an agent keeps what it must never do twice: the payment hashes it credited (SPEC §5.3, a
// payment counts once, in one session, whatever the invoicer hands out again: an LNURL server can
// return one invoice twice), each kept until its invoice has expired. The record is a ClaimRecord
// of @2020117/files.

import { dirname, join } from 'node:path'

/** Where agent `name` keeps its record: beside the keys file that holds its identity. */
export function creditedPath(keysFile: string, name: string): string {
  return join(dirname(keysFile), `.2020117_credited_${safeName(name)}.json`)
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_')
}
