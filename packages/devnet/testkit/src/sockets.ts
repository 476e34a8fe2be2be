// The operating system's view of a process's sockets and children, read from Linux /proc, so that
// a test can check what a process really listens on instead of what it claims.
//
//   /proc/<pid>/fd/*        readlink gives `socket:[<inode>]` for each open socket
//   /proc/net/{tcp,tcp6,udp,udp6}
//                           one line per socket in this network namespace: `local_address` is
//                           hex IP:port (IPv4 as one 32-bit word, IPv6 as four, each in host byte
//                           order), `st` the state (TCP 0A = LISTEN), `inode` the socket's inode
//   /proc/<pid>/stat        `pid (comm) state ppid ...`

import { readdir, readFile, readlink } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { endianness } from 'node:os'

export type SocketProtocol = 'tcp' | 'tcp6' | 'udp' | 'udp6'

export interface ProcSocket {
  protocol: SocketProtocol
  inode: number
  /** Dotted IPv4, or IPv6 (`::`, `::1`, `::ffff:a.b.c.d`, else eight full groups). */
  localAddress: string
  localPort: number
  remoteAddress: string
  remotePort: number
  /** The kernel's state number (`st`): TCP 0x0A is LISTEN, 0x01 ESTABLISHED; UDP 0x07 unconnected. */
  state: number
  /** TCP in LISTEN state. */
  listening: boolean
}

export const TCP_LISTEN = 0x0a
const PROTOCOLS: readonly SocketProtocol[] = ['tcp', 'tcp6', 'udp', 'udp6']

/** Inodes of the sockets among `pid`'s open file descriptors. */
export async function socketInodes(pid: number): Promise<Set<number>> {
  const inodes = new Set<number>()
  const dir = `/proc/${pid}/fd`
  for (const fd of await readdir(dir)) {
    let target: string
    try {
      target = await readlink(`${dir}/${fd}`)
    } catch (err) {
      // The descriptor closed between readdir and readlink.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    const match = /^socket:\[(\d+)\]$/.exec(target)
    if (match) inodes.add(Number(match[1]))
  }
  return inodes
}

/** Every TCP and UDP socket of this network namespace, from /proc/net. */
export async function procNetSockets(): Promise<ProcSocket[]> {
  const sockets: ProcSocket[] = []
  for (const protocol of PROTOCOLS) {
    let text: string
    try {
      text = await readFile(`/proc/net/${protocol}`, 'utf8')
    } catch (err) {
      // No IPv6 in this kernel: then there are no IPv6 sockets either.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && protocol.endsWith('6')) continue
      throw err
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 10) continue
      const [local, remote, st] = [fields[1], fields[2], fields[3]]
      const inode = Number(fields[9])
      if (!local || !remote || !st || !Number.isInteger(inode))
        throw new Error(`unexpected line in /proc/net/${protocol}: ${line}`)
      const [localAddress, localPort] = parseEndpoint(local)
      const [remoteAddress, remotePort] = parseEndpoint(remote)
      const state = Number.parseInt(st, 16)
      sockets.push({
        protocol,
        inode,
        localAddress,
        localPort,
        remoteAddress,
        remotePort,
        state,
        listening: protocol.startsWith('tcp') && state === TCP_LISTEN
      })
    }
  }
  return sockets
}

/** The TCP and UDP sockets `pid` holds open (other kinds, such as Unix sockets, are left out). */
export async function processSockets(pid: number): Promise<ProcSocket[]> {
  const inodes = await socketInodes(pid)
  return (await procNetSockets()).filter((s) => s.inode !== 0 && inodes.has(s.inode))
}

/** The IPv4 address an address stands for (unwrapping `::ffff:a.b.c.d`), or null for real IPv6. */
export function asIPv4(address: string): string | null {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(address)) return address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  return mapped?.[1] ?? null
}

/** `hex-address:hex-port` from /proc/net/* as [address, port]. */
export function parseEndpoint(field: string): [string, number] {
  const [hexAddress, hexPort] = field.split(':')
  if (!hexAddress || !hexPort) throw new Error(`not a /proc/net endpoint: ${field}`)
  const port = Number.parseInt(hexPort, 16)
  if (hexAddress.length === 8) return [hostWords(hexAddress).join('.'), port]
  if (hexAddress.length !== 32) throw new Error(`not a /proc/net address: ${hexAddress}`)
  const bytes = hostWords(hexAddress)
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number))
  if (groups.every((g) => g === 0)) return ['::', port]
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return ['::1', port]
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return [`::ffff:${bytes.slice(12).join('.')}`, port]
  return [groups.map((g) => g.toString(16)).join(':'), port]
}

/** The address bytes in network order: each 32-bit word is printed in host byte order. */
function hostWords(hex: string): number[] {
  const bytes: number[] = []
  for (let w = 0; w < hex.length; w += 8) {
    const word = Array.from({ length: 4 }, (_, i) => Number.parseInt(hex.slice(w + 2 * i, w + 2 * i + 2), 16))
    bytes.push(...(endianness() === 'LE' ? word.reverse() : word))
  }
  return bytes
}

/** Whether /proc still has an entry for `pid` (a reaped process has none). */
export function processExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`)
}

/** Direct children of `pid`, from the ppid field of every /proc/<n>/stat. */
export async function childPids(pid: number): Promise<number[]> {
  const children: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    // comm may contain spaces and parentheses: the fields after it start after the last ')'.
    const [, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(ppid) === pid) children.push(Number(entry))
  }
  return children
}
