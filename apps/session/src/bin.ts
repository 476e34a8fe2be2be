#!/usr/bin/env node
// 2020117-session: rent a provider's service by the minute and use it at http://localhost:PORT.
//
// Two steps. V8's young generation is held at its first size (./young-generation.ts says why),
// then the command itself is loaded and run (./main.ts). It is loaded only afterwards because
// loading it is what would grow the young generation: static imports are all parsed and compiled
// before the first of them runs. What is loaded is main.ts bundled with its dependencies into one
// file (scripts/bundle.mjs, run by every build): start-up is then not spent resolving ~210 modules.
import './young-generation.js'

await import(new URL('./bundle/main.js', import.meta.url).href)
