// The project's one atomic file write and one lock file, in a package of their own so that every
// package that keeps state on disk (cli, nostr, the dev wallet, the relay) can use them without
// depending on the bins' plumbing.

export { FilesError, type FilesErrorCode } from './errors.js'
export { lockFile, writeFileAtomic } from './files.js'
export { ClaimRecord } from './claims.js'
