// Reports (NIP-56 kind 1984, SPEC §11.4): the type is the third element of the `p` tag naming the
// subject (one outside REPORT_TYPES reads as 'other'); each reporter counts once, by its newest
// report; a report its author deleted drops. Only reporters in the viewer's graph can flag: 50 keys
// nobody follows cost nothing to make.

import { FLAG_REPORTERS, kinds, REPORT_TYPES, type ReportType } from '@2020117/protocol'
import { newestBy, verifiedAll } from '../check.js'
import { classOf } from '../graph.js'
import type { Graph } from '../types.js'
import type { Deletions } from './deletions.js'

export interface CountedReport {
  id: string
  reporter: string
  type: ReportType
  inGraph: boolean
}

export interface ReportSignal {
  reports: CountedReport[]
  inGraph: number
  total: number
  flagged: boolean
}

export function readReports(
  events: readonly unknown[],
  subject: string,
  graph: Graph,
  deletions: Deletions
): ReportSignal {
  const standing = verifiedAll(events, kinds.Report).filter(
    (e) => e.pubkey !== subject && e.tags.some((t) => t[0] === 'p' && t[1] === subject) && !deletions.deleted(e)
  )
  const reports = [...newestBy(standing, (e) => e.pubkey).values()].map((e) => {
    const type = e.tags.find((t) => t[0] === 'p' && t[1] === subject)?.[2]
    return {
      id: e.id,
      reporter: e.pubkey,
      type: (REPORT_TYPES as readonly string[]).includes(type ?? '') ? (type as ReportType) : 'other',
      inGraph: classOf(graph, e.pubkey) !== 'outside'
    }
  })
  const inGraph = reports.filter((r) => r.inGraph).length
  return { reports, inGraph, total: reports.length, flagged: inGraph >= FLAG_REPORTERS }
}
