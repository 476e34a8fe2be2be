#!/usr/bin/env node
// 2020117-relay: a placeholder until the bin lands (issue 14).
export {}
