import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeRpcError, deterministicRpcProblem, isRetryableRpcOrTransient, maskRpcUrl } from '../../src/chain/call-errors.ts'
import { errorLine } from '../../src/errors.ts'

/** A provider that refuses every request with 429, as a rate-limited RPC does. */
let server: Server
let base: string
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(429, { 'content-type': 'application/json' })
    res.end('{"error":"rate limited"}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe('describeRpcError', () => {
  it('names the method, the HTTP status and the endpoint, with the API key masked', async () => {
    const client = createPublicClient({ transport: http(`${base}/v2/Ab3dEf6hIj9kLm2nOp5q?apikey=s3cret&x=1`, { retryCount: 0 }) })
    const err = await client.getLogs({ fromBlock: 1n, toBlock: 2n }).catch((e: unknown) => e)
    expect(errorLine(err)).toBe('HTTP request failed.')
    expect(describeRpcError(err, errorLine(err))).toBe(`HTTP request failed. (method eth_getLogs; HTTP status 429; at ${base}/v2/Ab3d***?apikey=***&x=***)`)
  })

  it('masks credentials and key-like path segments, and keeps the rest of the URL readable', () => {
    expect(maskRpcUrl('https://user:pw@eth-mainnet.g.alchemy.com/v2/abcdEFGH1234ijklMNOP')).toBe('https://eth-mainnet.g.alchemy.com/v2/abcd***')
    expect(maskRpcUrl('https://mainnet.base.org')).toBe('https://mainnet.base.org/')
    expect(maskRpcUrl('https://rpc.example/ethereum/mainnet-archive-node')).toBe('https://rpc.example/ethereum/mainnet-archive-node')
    expect(maskRpcUrl('not a url')).toBe('(not a URL)')
  })

  it('leaves an error with nothing to add as its first line', () => {
    expect(describeRpcError(new Error('boom'), 'boom')).toBe('boom')
  })
})

describe('deterministicRpcProblem: what a retry cannot cure', () => {
  /** A provider answering every request with `status` and `body` (a JSON-RPC error echoes the request id). */
  async function provider(status: number, body: (id: unknown) => unknown): Promise<{ url: string; close(): Promise<void> }> {
    const s = createServer((req, res) => {
      let raw = ''
      req.on('data', (c: Buffer) => (raw += c.toString()))
      req.on('end', () => {
        const id = (JSON.parse(raw) as { id?: unknown }).id
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body(id)))
      })
    })
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
    return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => new Promise((resolve) => s.close(() => resolve())) }
  }
  const failure = async (url: string) => createPublicClient({ transport: http(url, { retryCount: 0 }) }).getChainId().catch((e: unknown) => e)

  it('names a refused key, a missing method and a wrong path, and stops retrying them', async () => {
    const cases: [number, (id: unknown) => unknown, RegExp][] = [
      [401, () => ({ error: 'invalid api key' }), /^the RPC refuses the request \(HTTP 401\): check the API key/],
      [403, () => ({ error: 'forbidden' }), /^the RPC refuses the request \(HTTP 403\)/],
      [404, () => ({ error: 'not found' }), /^the RPC answers HTTP 404: check the URL path$/],
      [200, (id) => ({ jsonrpc: '2.0', id, error: { code: -32601, message: 'the method eth_chainId does not exist/is not available' } }), /^the RPC does not offer a method dexrisk needs/],
      [200, (id) => ({ jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } }), /^the RPC calls the request malformed/],
    ]
    for (const [status, body, expected] of cases) {
      const p = await provider(status, body)
      try {
        const err = await failure(p.url)
        expect(deterministicRpcProblem(err)).toMatch(expected)
        expect(isRetryableRpcOrTransient(err)).toBe(false)
      } finally {
        await p.close()
      }
    }
  })

  it('leaves rate limits, server errors, invalid params, a batch too large and unreachable hosts to the retry', async () => {
    const cases: [number, (id: unknown) => unknown][] = [
      [429, () => ({ error: 'rate limited' })],
      [503, () => ({ error: 'unavailable' })],
      [200, (id) => ({ jsonrpc: '2.0', id, error: { code: -32602, message: 'block range too large' } })],
      // geth's refusal of a JSON-RPC batch that is too large is -32600 too: smaller batches cure it.
      [200, (id) => ({ jsonrpc: '2.0', id, error: { code: -32600, message: 'batch too large' } })],
    ]
    for (const [status, body] of cases) {
      const p = await provider(status, body)
      try {
        const err = await failure(p.url)
        expect(deterministicRpcProblem(err)).toBeNull()
        expect(isRetryableRpcOrTransient(err)).toBe(true)
      } finally {
        await p.close()
      }
    }
    const closed = await failure('http://127.0.0.1:1')
    expect(deterministicRpcProblem(closed)).toBeNull()
    expect(isRetryableRpcOrTransient(closed)).toBe(true)
  })
})
