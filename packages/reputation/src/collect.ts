// PLACEHOLDER until the collector lands (issue 13, helper "collect"): nothing is read.
import type { RelayPool } from '@2020117/nostr'
import type { Graph, SubjectEvents, ViewerEvents } from './types.js'

export interface CollectOptions {
  /** How long each relay query may wait. */
  maxWaitMs?: number
}

export async function collectViewer(
  _pool: RelayPool,
  _viewer: string | null,
  _opts: CollectOptions = {}
): Promise<ViewerEvents> {
  return { contacts: [], serviceLists: [] }
}

export async function collectSubjects(
  _pool: RelayPool,
  subjects: string[],
  _graph: Graph,
  _opts: CollectOptions = {}
): Promise<Map<string, SubjectEvents>> {
  return new Map(
    subjects.map((s) => [s, { profiles: [], zaps: [], reviews: [], declarations: [], reports: [], deletions: [] }])
  )
}
