import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * What a faulty RPC does to each request: `stall` holds it without an answer (past any client
 * timeout, until the fault is switched off or the client gives up), `http-500` and `http-429` answer
 * with that status instead of forwarding.
 */
export type RpcFault = 'none' | 'stall' | 'http-500' | 'http-429'

export type RpcProxy = {
  url: string
  /**
   * Applies to every request received from now on whose JSON-RPC method (or, for a batch, any of
   * them) is in `methods` (default: every method); switching to 'none' releases stalled ones.
   */
  fault(mode: RpcFault, opts?: { methods?: string[] }): void
  /** Requests that met each fault so far. */
  faulted: Record<Exclude<RpcFault, 'none'>, number>
  /** Requests forwarded to the node and answered. */
  forwarded: number
  /**
   * Like a hosted provider's cap: an eth_getLogs over more blocks than this is answered with
   * JSON-RPC error -32005 "query returned more than 10000 results" (null: no cap).
   */
  logRangeLimit: number | null
  /** eth_getLogs requests refused by that cap so far. */
  refusedLogRanges: number
  close(): Promise<void>
}

/**
 * A real HTTP server (node:http) in front of a JSON-RPC node, forwarding every request as is until
 * a fault is switched on. It is the RPC endpoint the monitor is configured with, so the fault is a
 * real one on the wire: a socket that never answers, or a real 500 / 429 response.
 */
export async function startRpcProxy(target: string): Promise<RpcProxy> {
  let mode: RpcFault = 'none'
  let methods: Set<string> | undefined
  const released = new Set<() => void>()
  const proxy: RpcProxy = {
    url: '',
    fault(next, opts = {}) {
      mode = next
      methods = opts.methods ? new Set(opts.methods) : undefined
      if (next !== 'stall') for (const r of [...released]) r()
    },
    faulted: { stall: 0, 'http-500': 0, 'http-429': 0 },
    forwarded: 0,
    logRangeLimit: null,
    refusedLogRanges: 0,
    close: async () => {
      proxy.fault('none')
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const fault = mode !== 'none' && (methods === undefined || methodsOf(body).some((m) => methods!.has(m))) ? mode : 'none'
    if (fault === 'stall') {
      proxy.faulted.stall++
      // Hold the request until the client gives up (its timeout) or the fault is switched off.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          released.delete(done)
          resolve()
        }
        released.add(done)
        res.once('close', done)
      })
      if (res.destroyed || res.writableEnded) return
    } else if (fault === 'http-500' || fault === 'http-429') {
      proxy.faulted[fault]++
      const status = fault === 'http-500' ? 500 : 429
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end(status === 500 ? 'internal server error (injected by the test RPC proxy)' : 'too many requests (injected by the test RPC proxy)')
      return
    }
    let refusedPart: { id: unknown }[] = []
    let forwardBody = body
    if (proxy.logRangeLimit !== null) {
      const refused = refuseWideLogRanges(body, proxy.logRangeLimit)
      if (refused) {
        proxy.refusedLogRanges += refused.count
        // As a provider does: each call of a batch is answered on its own; only the wide ones are refused.
        if (refused.forward.length === 0) {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify(refused.single ?? refused.errors))
          return
        }
        refusedPart = refused.errors
        forwardBody = Buffer.from(JSON.stringify(refused.forward))
      }
    }
    const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: forwardBody })
    let text = await upstream.text()
    if (res.destroyed) return
    proxy.forwarded++
    if (refusedPart.length > 0 && upstream.ok) text = JSON.stringify([...(JSON.parse(text) as unknown[]), ...refusedPart])
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
    res.end(text)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return
      res.writeHead(502, { 'content-type': 'text/plain' })
      res.end(`test RPC proxy: ${err instanceof Error ? err.message : String(err)}`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return proxy
}

function methodsOf(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString()) as { method?: string } | { method?: string }[]
    return (Array.isArray(parsed) ? parsed : [parsed]).map((r) => r.method ?? '')
  } catch {
    return []
  }
}

type RpcRequest = { id?: unknown; method?: string; params?: unknown[] }

/**
 * The provider-cap answer for a body holding an eth_getLogs wider than `limit` blocks: one error
 * per request (a batch fails whole, as some providers do), or null to forward the body as is.
 */
function refuseWideLogRanges(
  body: Buffer,
  limit: number,
): { errors: { id: unknown }[]; single?: unknown; forward: RpcRequest[]; count: number } | null {
  let parsed: RpcRequest | RpcRequest[]
  try {
    parsed = JSON.parse(body.toString()) as RpcRequest | RpcRequest[]
  } catch {
    return null
  }
  const requests = Array.isArray(parsed) ? parsed : [parsed]
  const isWide = (r: RpcRequest): boolean => {
    if (r.method !== 'eth_getLogs') return false
    const f = r.params?.[0] as { fromBlock?: string; toBlock?: string } | undefined
    return f?.fromBlock !== undefined && f.toBlock !== undefined && BigInt(f.toBlock) - BigInt(f.fromBlock) + 1n > BigInt(limit)
  }
  const wide = requests.filter(isWide)
  if (wide.length === 0) return null
  const error = (r: RpcRequest) => ({ jsonrpc: '2.0', id: r.id, error: { code: -32005, message: 'query returned more than 10000 results' } })
  if (!Array.isArray(parsed)) return { errors: [error(parsed)], single: error(parsed), forward: [], count: 1 }
  return { errors: wide.map(error), forward: requests.filter((r) => !isWide(r)), count: wide.length }
}
