// Imported first by the bin, for its side effect: after each full garbage collection V8 lets the
// heap grow to three times what survived before it collects again, instead of a factor it picks
// from recent GC speed (close to 1 for a small heap that just collected often).
//
// Why: the bytes a provider sends live outside the JS heap, in the 64 KiB frames that UDX keeps
// until the customer acknowledges them, and V8 counts those buffers against the same limit. With
// the agent's ~18 MiB heap and the picked factor, the frames in flight alone reach the limit, so
// a download ran a storm of mark-compacts that freed nothing (45 to 53 per 512 MiB, some 7 ms
// apart), each costing tens of milliseconds of marking threads. At 3x, one is left, as the bench's
// reference tunnel has. The heap itself does not grow by it: the headroom is taken by buffers
// that scavenges free anyway.
//
// The flag is read at every full collection, so setting it from inside the process works.

import v8 from 'node:v8'

v8.setFlagsFromString('--heap-growing-percent=200')
