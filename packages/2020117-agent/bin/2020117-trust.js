#!/usr/bin/env node
// 2020117-trust, as installed from the registry (`npx -p 2020117-agent 2020117-trust show npub1…`).
// The bin itself lives in @2020117/trust; this package only carries the names users type.
import '@2020117/trust/bin'
