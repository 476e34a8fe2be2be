// BUD-02 upload: PUT /upload with a kind 24242 authorization for exactly this blob (its sha256 in
// the `x` tag, a short expiration), then the server's blob descriptor, which is believed only when
// its sha256 and size are ours. The authorization event and its header encoding come from
// blossom-client-sdk; the request is ours, because its uploadBlob reads the server's answer without
// a bound and follows redirects.

import { createHash } from 'node:crypto'
import { createUploadAuth, encodeAuthorizationHeader } from 'blossom-client-sdk/auth'
import { finalizeEvent, type EventTemplate } from 'nostr-tools/pure'
import { peerText } from '@2020117/cli'
import { BlossomError } from './errors.js'
import { failure, httpUrl, positiveInteger, readCapped, request } from './http.js'

export interface BlobDescriptor {
  url: string
  sha256: string
  size: number
  type: string
  /** Unix seconds. */
  uploaded: number
}

export interface UploadBlobOptions {
  /** The uploader's Nostr secret key; it signs the authorization and never leaves this process. */
  secretKey: Uint8Array
  /** The blob's MIME type, sent as Content-Type. */
  mime: string
  /** How long the authorization is valid. Default 300 s. */
  expirationSeconds?: number
  /** For the whole exchange. Default 60 s. */
  timeoutMs?: number
}

const MAX_DESCRIPTOR_BYTES = 16 * 1024
const MAX_TYPE_LENGTH = 255

export async function uploadBlob(server: string, bytes: Uint8Array, opts: UploadBlobOptions): Promise<BlobDescriptor> {
  const base = httpUrl(server)
  const timeoutMs = positiveInteger('timeoutMs', opts.timeoutMs ?? 60_000)
  const expiresIn = positiveInteger('expirationSeconds', opts.expirationSeconds ?? 300)
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const sign = async (draft: EventTemplate) => finalizeEvent(draft, opts.secretKey)
  const auth = await createUploadAuth(sign, sha256, { expiration: Math.floor(Date.now() / 1000) + expiresIn })
  const url = new URL('/upload', base)
  const signal = AbortSignal.timeout(timeoutMs)
  const res = await request(
    url,
    {
      method: 'PUT',
      body: bytes,
      redirect: 'error',
      headers: { authorization: encodeAuthorizationHeader(auth), 'content-type': opts.mime, 'x-sha-256': sha256 }
    },
    signal,
    timeoutMs
  )
  if (!res.ok) {
    await res.body?.cancel()
    throw BlossomError.UPLOAD_REFUSED(base.origin, res.status, peerText(res.headers.get('x-reason'), 200))
  }
  const body = await readCapped(res, MAX_DESCRIPTOR_BYTES, () =>
    BlossomError.BAD_DESCRIPTOR(base.origin, `over ${MAX_DESCRIPTOR_BYTES} bytes`)
  ).catch((err: unknown) => {
    throw failure(url, err, signal, timeoutMs)
  })
  const descriptor = parseDescriptor(base.origin, body)
  if (descriptor.sha256 !== sha256)
    throw BlossomError.HASH_MISMATCH(`the blob ${server} stored`, sha256, descriptor.sha256)
  if (descriptor.size !== bytes.length)
    throw BlossomError.BAD_DESCRIPTOR(base.origin, `size ${descriptor.size}, not ${bytes.length}`)
  return descriptor
}

function parseDescriptor(server: string, body: Uint8Array): BlobDescriptor {
  let value: Partial<BlobDescriptor>
  try {
    value = JSON.parse(new TextDecoder().decode(body)) as Partial<BlobDescriptor>
  } catch {
    throw BlossomError.BAD_DESCRIPTOR(server, 'not JSON')
  }
  const { url, sha256, size, type, uploaded } = value ?? {}
  if (typeof url !== 'string') throw BlossomError.BAD_DESCRIPTOR(server, 'no url')
  try {
    httpUrl(url)
  } catch {
    throw BlossomError.BAD_DESCRIPTOR(server, 'its url is not http(s)')
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))
    throw BlossomError.BAD_DESCRIPTOR(server, 'no sha256')
  if (!Number.isSafeInteger(size)) throw BlossomError.BAD_DESCRIPTOR(server, 'no size')
  return {
    url,
    sha256,
    size: size as number,
    type: peerText(type, MAX_TYPE_LENGTH),
    uploaded: Number.isSafeInteger(uploaded) ? (uploaded as number) : 0
  }
}
