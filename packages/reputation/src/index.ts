// @2020117/reputation: reputation computed by the viewer from signed events (SPEC §11).

export type { SubjectEvents, ViewerEvents, Graph, ComputeOptions, Evidence, Reputation } from './types.js'
