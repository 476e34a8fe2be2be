#!/usr/bin/env node
// 2020117-job: buy one NIP-90 job on Nostr relays and pay for it safely. The command is ./main.ts,
// loaded bundled with its dependencies into one file (scripts/bundle.mjs, run by every build): a
// one-shot command should not spend its start-up resolving ~150 modules one by one.
await import(new URL('./bundle/main.js', import.meta.url).href)
