// An NDK customer in a process of its own (plain node, so that NDK resolves its own dependencies
// as an application would; vitest's `source` condition would send its nostr-tools import to
// sources that are not shipped). JSON lines on stdout; it waits for "paid" on stdin.
//   node ndk-customer.mjs RELAY AGENT_PUBKEY plain|directed|encrypted|cancel TEXT LANG
// Prints {"id"}, then {"offer":{msat,bolt11,pubkey}}, then {"result":{content,encrypted,pubkey}}
// (after "paid"), or, for cancel, {"deleted":id} after the offer. In encrypted mode every feedback
// also goes through NDKDVMJobFeedback.from(), which decrypts it: {"feedback":{status,hidden}} (the
// tags it decrypted), or {"feedback_error":message} when NDK cannot read it.

import { createInterface } from 'node:readline'
import { minePow } from 'nostr-tools/nip13'
import { WebSocket } from 'ws'

globalThis.WebSocket ??= WebSocket
const {
  default: NDK,
  NDKDVMJobFeedback,
  NDKDVMRequest,
  NDKPrivateKeySigner,
  NDKUser
} = await import('@nostr-dev-kit/ndk')

const [relay, agentKey, mode, text, lang] = process.argv.slice(2)
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')
const lines = createInterface({ input: process.stdin })
const nextLine = () => new Promise((resolve) => lines.once('line', resolve))

const ndk = new NDK({
  explicitRelayUrls: [relay],
  enableOutboxModel: false,
  autoConnectUserRelays: false,
  initialValidationRatio: 1,
  lowestValidationRatio: 1,
  signer: NDKPrivateKeySigner.generate()
})
await ndk.connect(5000)
const agent = new NDKUser({ pubkey: agentKey })

const request = new NDKDVMRequest(ndk)
request.kind = 5302
request.addInput(text, 'text')
request.addParam('lang', lang)
request.bid = 10_000
if (mode === 'directed' || mode === 'cancel') request.dvm = agent
if (mode === 'encrypted') await request.encryption(agent)
await signMined(request, 10)

/**
 * The network's relay prices job requests (10 bits) and deletions (20) in NIP-13 work (SPEC §12),
 * and NDK mines nothing: done here as any NDK app must, on the event as NDK would sign it.
 */
async function signMined(event, bits) {
  const raw = await event.toNostrEvent()
  const template = { ...raw, tags: raw.tags.filter((t) => t[0] !== 'nonce') }
  const mined = minePow(template, bits)
  event.tags = mined.tags
  event.created_at = mined.created_at
  await event.sign()
}

let offered = false
const sub = ndk.subscribe({ kinds: [7000, 6302], '#e': [request.id] }, { closeOnEose: false })
sub.on('event', async (e) => {
  if (e.kind === 7000) {
    if (mode === 'encrypted') await readFeedback(e)
    // NDK spells the status payment_required; our agent payment-required: read both.
    const status = e.tagValue('status')
    if (offered || (status !== 'payment-required' && status !== 'payment_required')) return
    offered = true
    const [, msat, bolt11] = e.getMatchingTags('amount')[0]
    say({ offer: { msat, bolt11, pubkey: e.pubkey } })
    if (mode === 'cancel') {
      const deletion = await request.delete('changed my mind', false)
      await signMined(deletion, 20)
      await deletion.publish()
      say({ deleted: request.id })
    }
    return
  }
  const encrypted = e.tags.some((t) => t[0] === 'encrypted')
  if (encrypted) await e.decrypt(agent)
  say({ result: { content: e.content, encrypted, pubkey: e.pubkey } })
  process.exit(0)
})

async function readFeedback(e) {
  const clear = e.tags.length // NDK pushes the decrypted tags onto the same array
  try {
    const feedback = await NDKDVMJobFeedback.from(e)
    say({ feedback: { status: feedback.status, hidden: feedback.tags.slice(clear) } })
  } catch (err) {
    say({ feedback_error: String(err?.message ?? err) })
  }
}

say({ id: request.id })
await request.publish()
if (mode !== 'cancel') {
  if ((await nextLine()) !== 'paid') process.exit(2)
} else {
  await nextLine()
  process.exit(0)
}
