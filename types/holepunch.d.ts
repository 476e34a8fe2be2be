// The Holepunch modules ship no TypeScript types. These declare only what 2020117 uses.

declare module 'compact-encoding' {
  export interface State {
    start: number
    end: number
    buffer: Uint8Array
  }
  export interface Encoding<T = any> {
    preencode(state: State, value: T): void
    encode(state: State, value: T): void
    decode(state: State): T
  }
  const c: {
    uint: Encoding<number>
    uint8: Encoding<number>
    uint32: Encoding<number>
    utf8: Encoding<string>
    string: Encoding<string>
    raw: Encoding<Uint8Array>
    buffer: Encoding<Uint8Array | null>
    fixed32: Encoding<Uint8Array>
    encode<T>(enc: Encoding<T>, value: T): Uint8Array
    decode<T>(enc: Encoding<T>, buf: Uint8Array): T
  }
  export default c
}

declare module 'protomux' {
  import type { Encoding } from 'compact-encoding'
  export interface Message<T = any> {
    send(value: T): boolean
  }
  export interface Channel {
    opened: boolean
    closed: boolean
    destroyed: boolean
    userData: unknown
    open(handshake?: unknown): void
    close(): void
    addMessage<T = any>(opts: {
      encoding?: Encoding<T>
      onmessage?: (value: T, channel: Channel) => unknown
    }): Message<T>
    cork(): void
    uncork(): void
    fullyClosed(): Promise<void>
  }
  export interface ChannelOptions {
    protocol: string
    id?: Uint8Array | null
    unique?: boolean
    handshake?: Encoding
    messages?: Array<{ encoding?: Encoding; onmessage?: (value: any, channel: Channel) => unknown }>
    onopen?: (handshake: any, channel: Channel) => unknown
    onclose?: (isRemote: boolean, channel: Channel) => unknown
    ondestroy?: (channel: Channel) => unknown
    ondrain?: (channel: Channel) => unknown
  }
  export default class Protomux {
    constructor(stream: any)
    static from(stream: any): Protomux
    static isProtomux(m: unknown): boolean
    stream: any
    drained: boolean
    createChannel(opts: ChannelOptions): Channel | null
    pair(opts: { protocol: string; id?: Uint8Array | null }, notify: (id: Uint8Array | null) => void): void
    unpair(opts: { protocol: string; id?: Uint8Array | null }): void
    opened(opts: { protocol: string; id?: Uint8Array | null }): boolean
    cork(): void
    uncork(): void
    destroy(err?: Error): void
  }
}

declare module 'hyperdht' {
  import { EventEmitter } from 'node:events'
  export interface KeyPair {
    publicKey: Uint8Array
    secretKey: Uint8Array
  }
  export default class HyperDHT extends EventEmitter {
    constructor(opts?: Record<string, unknown>)
    static keyPair(seed?: Uint8Array): KeyPair
    static hash(data: Uint8Array): Uint8Array
    static bootstrapper(port: number, host: string, opts?: Record<string, unknown>): HyperDHT
    defaultKeyPair: KeyPair
    host: string | null
    port: number
    destroyed: boolean
    ready(): Promise<void>
    address(): { host: string; port: number }
    createServer(opts?: Record<string, unknown>, onconnection?: (socket: any) => void): any
    connect(publicKey: Uint8Array, opts?: Record<string, unknown>): any
    destroy(opts?: { force?: boolean }): Promise<void>
  }
}

declare module 'hyperdht/testnet.js' {
  import HyperDHT from 'hyperdht'
  export interface Testnet {
    nodes: HyperDHT[]
    bootstrap: Array<{ host: string; port: number }>
    createNode(opts?: Record<string, unknown>): HyperDHT
    destroy(): Promise<void>
  }
  export default function createTestnet(size?: number, opts?: Record<string, unknown>): Promise<Testnet>
}

declare module 'hyperswarm' {
  import { EventEmitter } from 'node:events'
  import type { KeyPair } from 'hyperdht'
  export interface PeerInfo {
    publicKey: Uint8Array
    topics: Uint8Array[]
    client: boolean
    ban(banned?: boolean): void
  }
  export interface Discovery {
    flushed(): Promise<void>
    refresh(opts?: { client?: boolean; server?: boolean }): Promise<void>
    destroy(): Promise<void>
  }
  export default class Hyperswarm extends EventEmitter {
    constructor(opts?: Record<string, unknown>)
    keyPair: KeyPair
    dht: any
    /** The hyperdht server; refresh() and notifyOnline() ask its announcer to announce again. */
    server: { refresh(): void; notifyOnline(): void; relayAddresses: Array<{ host: string; port: number }> } | null
    connections: Set<any>
    peers: Map<string, PeerInfo>
    destroyed: boolean
    join(topic: Uint8Array, opts?: { server?: boolean; client?: boolean }): Discovery
    leave(topic: Uint8Array): Promise<void>
    joinPeer(publicKey: Uint8Array): void
    leavePeer(publicKey: Uint8Array): void
    flush(): Promise<void>
    listen(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
  }
}
