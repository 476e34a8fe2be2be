// A provider's zap server, as the test holds it: a tiny LNURL-pay endpoint on 127.0.0.1 that takes
// zaps (`allowsNostr`, `nostrPubkey` of a key the test holds), and NIP-57 receipts signed by that key
// (or by any other, to forge them), each with a real signed BOLT11 invoice whose description hash
// commits to a signed zap request. The invoices are never paid: a receipt is only the server's word.

import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import bolt11 from 'bolt11'
import { finalizeEvent, generateSecretKey, getPublicKey, type Event } from 'nostr-tools/pure'
import { NETWORKS, NODE_A } from '@2020117/testkit'

export class ZapServer {
  readonly secretKey = generateSecretKey()
  readonly pubkey = getPublicKey(this.secretKey)
  private readonly server: http.Server
  /** How many times the LNURL endpoint was read. */
  reads = 0

  private constructor(server: http.Server) {
    this.server = server
  }

  /** Listens on 127.0.0.1; `address(name)` is its Lightning address. */
  static async start(): Promise<ZapServer> {
    const zaps = new ZapServer(http.createServer((req, res) => zaps.answer(req, res)))
    await new Promise<void>((resolve) => zaps.server.listen(0, '127.0.0.1', resolve))
    return zaps
  }

  address(name = 'provider'): string {
    return `${name}@127.0.0.1:${(this.server.address() as { port: number }).port}`
  }

  /**
   * A receipt of a zap of `sats` from `senderKey` to `recipient`, signed by this server (or by
   * `signerKey`), with its invoice on `network`. `bolt11` reuses another receipt's invoice (a
   * duplicate report of one payment).
   */
  receipt(o: {
    recipient: string
    sats: number
    senderKey?: Uint8Array
    signerKey?: Uint8Array
    network?: keyof typeof NETWORKS
    bolt11?: string
    description?: string
    createdAt?: number
  }): Event {
    const msat = String(o.sats * 1000)
    const description =
      o.description ??
      JSON.stringify(
        finalizeEvent(
          {
            kind: 9734,
            created_at: Math.floor(Date.now() / 1000),
            tags: [
              ['relays', 'ws://127.0.0.1:1'],
              ['p', o.recipient],
              ['amount', msat]
            ],
            content: 'zap'
          },
          o.senderKey ?? generateSecretKey()
        )
      )
    const pr = o.bolt11 ?? zapInvoice(msat, description, o.network ?? 'regtest')
    const tags = [
      ['p', o.recipient],
      ['bolt11', pr],
      ['description', description]
    ]
    return finalizeEvent(
      { kind: 9735, created_at: o.createdAt ?? Math.floor(Date.now() / 1000), tags, content: '' },
      o.signerKey ?? this.secretKey
    )
  }

  close(): void {
    this.server.close()
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { port } = this.server.address() as { port: number }
    res.setHeader('content-type', 'application/json')
    if (!req.url?.startsWith('/.well-known/lnurlp/')) return void res.writeHead(404).end('{}')
    this.reads++
    res.end(
      JSON.stringify({
        tag: 'payRequest',
        callback: `http://127.0.0.1:${port}/cb`,
        minSendable: 1000,
        maxSendable: 1_000_000_000,
        metadata: '[["text/plain","2020117 test zaps"]]',
        allowsNostr: true,
        nostrPubkey: this.pubkey
      })
    )
  }
}

/** A signed invoice for `msat` whose `h` is the SHA-256 of `description` (NIP-57's zap invoice). */
function zapInvoice(msat: string, description: string, network: keyof typeof NETWORKS): string {
  const encoded = bolt11.encode({
    network: NETWORKS[network],
    millisatoshis: msat,
    timestamp: Math.floor(Date.now() / 1000),
    tags: [
      { tagName: 'payment_hash', data: createHash('sha256').update(randomBytes(32)).digest('hex') },
      { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
      { tagName: 'purpose_commit_hash', data: createHash('sha256').update(description, 'utf8').digest('hex') },
      { tagName: 'expire_time', data: 3600 }
    ]
  })
  return bolt11.sign(encoded, NODE_A).paymentRequest as string
}
