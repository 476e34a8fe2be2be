// An upstream service for the real agent (`--processor=<url>`) that records every request and
// WebSocket upgrade it receives, so a test can prove what reached it through the tunnel and what did
// not. Routes: POST /sdapi/v1/txt2img answers with `txt2img()` (a test's hostile reply), GET /sse
// streams three events, GET /forever streams events until closed, any upgrade echoes, anything
// else answers 200 "ok".

import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'

export interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  upgrade: boolean
}

export interface RecordingUpstream {
  url: string
  seen: Seen[]
  close(): Promise<void>
}

export async function startRecordingUpstream(opts: { txt2img?: () => unknown } = {}): Promise<RecordingUpstream> {
  const seen: Seen[] = []
  const wss = new WebSocketServer({ noServer: true })
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, upgrade: false })
    if (req.method === 'POST' && req.url === '/sdapi/v1/txt2img') {
      req.resume()
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(opts.txt2img?.() ?? { images: [], info: '{}' }))
      })
      return
    }
    if (req.url === '/forever') {
      // An event stream that never ends on its own.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      const timer = setInterval(() => res.write('data: tick\n\n'), 50)
      res.on('close', () => clearInterval(timer))
      return
    }
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      let n = 0
      const timer = setInterval(() => {
        res.write(`data: ${++n}\n\n`)
        if (n === 3) {
          clearInterval(timer)
          res.end()
        }
      }, 20)
      req.on('close', () => clearInterval(timer))
      return
    }
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('ok')
  })
  server.on('upgrade', (req, socket, head) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, upgrade: true })
    socket.on('error', () => {})
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {})
      ws.on('message', (data, binary) => ws.send(data, { binary }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    async close() {
      for (const c of wss.clients) c.terminate()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
