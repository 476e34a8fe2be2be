#!/usr/bin/env node
// 2020117-devnet, the local network for developers, as installed from the registry. The bin itself
// lives in @2020117/devnet; this package only carries the name.
import '@2020117/devnet/bin'
