// A NIP-90 provider written with @nostr-dev-kit/ndk 3.0.3, as DVM authors write them, run as its own
// process (plain node: vitest's `source` export condition would send NDK's nostr-tools import to
// sources nostr-tools does not ship). It speaks JSON lines: on stdout `ready`, then `offered` for
// each request (with the payment hash); on stdin the test answers `paid <hash>` once the ledger shows
// the payment, and the provider confirms it with lookup_invoice before it delivers. It answers
// `NDK read: <input>`, encrypted (NIP-44) to the customer when the request came encrypted.
//   env: RELAY, NWC_URI, KIND, PRICE_MSAT

import { createInterface } from 'node:readline'
import { WebSocket } from 'ws'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { nip19 } from 'nostr-tools'
import { NwcWallet } from '@2020117/wallet'

globalThis.WebSocket ??= WebSocket
const { default: NDK, NDKPrivateKeySigner, NDKDVMJobResult, NDKDVMRequest } = await import('@nostr-dev-kit/ndk')

const say = (line) => process.stdout.write(JSON.stringify(line) + '\n')
const secretKey = generateSecretKey()
const pubkey = getPublicKey(secretKey)
const price = Number(process.env.PRICE_MSAT)
const wallet = await NwcWallet.connect(process.env.NWC_URI)
const ndk = new NDK({
  explicitRelayUrls: [process.env.RELAY],
  enableOutboxModel: false,
  autoConnectUserRelays: false,
  initialValidationRatio: 1,
  lowestValidationRatio: 1,
  signer: new NDKPrivateKeySigner(Buffer.from(secretKey).toString('hex'))
})
await ndk.connect(5000)

const paid = new Map()
createInterface({ input: process.stdin }).on('line', (line) => {
  const [word, hash] = line.trim().split(' ')
  if (word === 'paid') paid.get(hash)?.()
  if (word === 'quit') process.exit(0)
})

/** The request's input, decrypted (NIP-44, through NDK's signer) when it came encrypted; the event stays as it came. */
async function inputOf(request) {
  if (!request.tags.some((t) => t[0] === 'encrypted')) return request.tagValue('i')
  const tags = JSON.parse(await ndk.signer.decrypt(request.author, request.content, 'nip44'))
  return tags.find((t) => t[0] === 'i')?.[1]
}

async function serve(request) {
  const input = await inputOf(request)
  const made = await wallet.makeInvoice(price, `NDK job ${request.id}`, 600)
  const settled = new Promise((resolve) => paid.set(made.paymentHash, resolve))
  const feedback = NDKDVMRequest.from(request).createFeedback('payment_required')
  feedback.tags.unshift(['p', pubkey]) // NDK DVMs put their own key first (shared/NOTES.md)
  feedback.tags.push(['amount', String(price), made.invoice])
  await feedback.publish()
  say({ event: 'offered', request: request.id, payment_hash: made.paymentHash, request_tags: request.tags })
  await settled
  if (!(await wallet.lookup(made.paymentHash)).settled) return say({ event: 'unpaid', request: request.id })
  const result = new NDKDVMJobResult(ndk)
  result.jobRequest = request
  const text = `NDK read: ${input}`
  if (request.tags.some((t) => t[0] === 'encrypted')) {
    result.content = await ndk.signer.encrypt(request.author, text, 'nip44')
    result.tags.push(['encrypted'])
  } else result.result = text
  result.setAmount(price)
  await result.publish()
  say({ event: 'delivered', request: request.id })
}

const sub = ndk.subscribe(
  { kinds: [Number(process.env.KIND)], since: Math.floor(Date.now() / 1000) - 5 },
  { closeOnEose: false }
)
sub.on('event', (request) => void serve(request).catch((err) => say({ event: 'error', message: String(err) })))
say({ event: 'ready', npub: nip19.npubEncode(pubkey), pubkey })
