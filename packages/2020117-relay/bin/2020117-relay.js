#!/usr/bin/env node
// 2020117-relay, as installed from the registry (`npx 2020117-relay --db=relay.db`). The bin itself
// lives in @2020117/relayd; this package only carries the name users type. It is a package of its
// own because its storage (better-sqlite3) is a native build that 2020117-agent's users never need.
import '@2020117/relayd/bin'
