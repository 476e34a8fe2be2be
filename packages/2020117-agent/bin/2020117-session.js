#!/usr/bin/env node
// 2020117-session, as installed from the registry (`npx -p 2020117-agent 2020117-session --budget=…`).
// The bin itself lives in @2020117/session; this package only carries the names users type.
import '@2020117/session/bin'
