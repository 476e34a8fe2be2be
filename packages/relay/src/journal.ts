// Persistence is an append-only JSONL journal of accepted events, replayed on start.
//
// Why a journal and not snapshots: a relay accepts many small events (heartbeats, NIP-47 info
// events, job offers) and each must be durable before the OK goes out. Appending one fsync'd line
// costs O(event); rewriting a snapshot would cost O(store) per event. Replaceable events make the
// journal accumulate superseded lines, so on start, once garbage outweighs live events, the
// journal is compacted with an atomic rewrite (temp file, fsync, rename, fsync directory): a crash
// at any point leaves either the old or the new file, never a mix.

import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Event } from '@nostr-relay/common'
import { validateEvent } from 'nostr-tools/pure'
import { writeFileAtomic } from '@2020117/files'
import { RelayError } from './errors.js'

export const JOURNAL_FILE = 'events.jsonl'

export interface JournalContents {
  events: Event[]
  /** Lines in the file, including superseded events. */
  lines: number
  /** The last line was cut short by a crash mid-append; it never got its OK, so it is dropped. */
  tornTail: boolean
}

export async function readJournal(dir: string): Promise<JournalContents> {
  const path = join(dir, JOURNAL_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], lines: 0, tornTail: false }
    throw RelayError.STORAGE_FAILED(path, err)
  }
  const rows = text.split('\n')
  // A complete journal ends with '\n', so the final split element is empty; anything else there is
  // a partial append.
  const tail = rows.pop() ?? ''
  const events: Event[] = []
  rows.forEach((row, index) => {
    if (row === '') return
    events.push(parseLine(path, index + 1, row))
  })
  return { events, lines: events.length, tornTail: tail !== '' }
}

function parseLine(path: string, line: number, row: string): Event {
  let value: unknown
  try {
    value = JSON.parse(row)
  } catch {
    throw RelayError.JOURNAL_CORRUPT(path, line, 'not JSON')
  }
  // Only events that passed signature checks were ever written, so shape is all we re-check here:
  // re-verifying every signature would make start-up O(n) schnorr verifications.
  const event = value as Partial<Event>
  if (!validateEvent(value) || typeof event.id !== 'string' || typeof event.sig !== 'string') {
    throw RelayError.JOURNAL_CORRUPT(path, line, 'not a Nostr event')
  }
  return value as unknown as Event
}

export async function rewriteJournal(dir: string, events: Iterable<Event>): Promise<void> {
  const path = join(dir, JOURNAL_FILE)
  try {
    await writeFileAtomic(path, lines(events))
  } catch (err) {
    throw RelayError.STORAGE_FAILED(path, err)
  }
}

/** The journal's lines in chunks of about 1 MiB: few writes, and never the whole file in memory. */
function* lines(events: Iterable<Event>): Generator<string> {
  let chunk = ''
  for (const event of events) {
    chunk += JSON.stringify(event) + '\n'
    if (chunk.length > 1 << 20) {
      yield chunk
      chunk = ''
    }
  }
  yield chunk
}

export class Journal {
  readonly path: string
  private readonly handle: FileHandle

  private constructor(path: string, handle: FileHandle) {
    this.path = path
    this.handle = handle
  }

  static async open(dir: string): Promise<Journal> {
    const path = join(dir, JOURNAL_FILE)
    try {
      await mkdir(dir, { recursive: true })
      return new Journal(path, await open(path, 'a', 0o600))
    } catch (err) {
      throw RelayError.STORAGE_FAILED(path, err)
    }
  }

  /** Resolves once the event is on disk. Callers serialise appends, so lines never interleave. */
  async append(event: Event): Promise<void> {
    try {
      await this.handle.write(JSON.stringify(event) + '\n')
      await this.handle.datasync()
    } catch (err) {
      throw RelayError.STORAGE_FAILED(this.path, err)
    }
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}
