import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeRpcError, maskRpcUrl } from '../../src/chain/call-errors.ts'
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
