#!/usr/bin/env node
// 2020117-job, as installed from the registry (`npx -p 2020117-agent 2020117-job --kind=5050 --bid=…`).
// The bin itself lives in @2020117/job; this package only carries the names users type.
import '@2020117/job/bin'
