#!/usr/bin/env node
// 2020117-agent, as installed from the registry (`npx 2020117-agent --kind=5200 --processor=…`). The
// bin itself lives in @2020117/agent; this package only carries the names users type.
import '@2020117/agent/bin'
