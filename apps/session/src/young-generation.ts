// Imported first by the bin, for its side effect: V8's young generation stays at its first size
// (2 MiB) instead of growing while start-up allocates (to 8 MiB for `--help` alone, up to V8's
// 32 MiB) and then keeping that size.
//
// Why: a tunnel download allocates its bytes outside the JS heap. secret-stream reassembles each
// 64 KiB frame into a fresh buffer, and UDX reads into fresh 64 KiB slabs, much faster than the
// small objects around them fill a 32 MiB young generation. Scavenges then come too seldom to free
// those buffers young, and V8 frees them with full mark-compacts started on external memory
// pressure instead: 33 to 51 per 512 MiB, each costing tens of milliseconds of marking threads.
// With the young generation kept small, scavenges free the buffers as they die (about 350 per
// 512 MiB, under a millisecond each) and one mark-compact is left. The session's CPU per GB fell
// from 16-18 to 11-12 CPU-seconds, as much as the bench's reference tunnel's client uses.
//
// The flag is read each time V8 would grow the young generation, so setting it from inside the
// process works (a command-line flag would need the shebang, which `env` cannot take portably).

import v8 from 'node:v8'

v8.setFlagsFromString('--semi-space-growth-factor=1')
