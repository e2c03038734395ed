import { createServer, type Server } from 'node:net'
import { HttpRequestError, RpcRequestError, TimeoutError } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createChainClient } from '../../src/chain/create-chain-client.ts'
import { createMetrics, type Metrics } from '../../src/metrics/create-metrics.ts'
import { rpcErrorKind } from '../../src/metrics/instrument-transport.ts'
import { startAnvil, type AnvilInstance } from '../../src/world/anvil.ts'
import { startRpcProxy, type RpcProxy } from '../setup/rpc-proxy.ts'
import { seriesOf, seriesValue } from './metric-values.ts'

const CHAIN_ID = 17_411
let anvil: AnvilInstance
const proxies: RpcProxy[] = []

beforeAll(async () => {
  anvil = await startAnvil({ chainId: CHAIN_ID })
})
afterAll(async () => {
  await anvil?.stop()
})
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close()
})

async function proxy(): Promise<RpcProxy> {
  const p = await startRpcProxy(anvil.rpcUrl)
  proxies.push(p)
  return p
}

function client(rpcUrls: string[], opts: { timeoutMs?: number } = {}): { metrics: Metrics; client: ReturnType<typeof createChainClient> } {
  const metrics = createMetrics({ defaultMetrics: false })
  return { metrics, client: createChainClient({ id: CHAIN_ID, name: 'local', rpcUrls, rpcTimeoutMs: opts.timeoutMs ?? 5_000 }, { metrics }) }
}

const calls = (m: Metrics, method: string) => seriesValue(m.registry, 'dexrisk_rpc_request_duration_seconds_count', { chain: 'local', method })
const errors = (m: Metrics) => seriesOf(m.registry, 'dexrisk_rpc_errors_total')

describe('RPC metrics of the chain client', () => {
  it('counts each call of one batched HTTP request once, under its own method, against a real anvil', async () => {
    const p = await proxy()
    const { metrics, client: c } = client([p.url])
    const [chainId, number, block] = await Promise.all([c.getChainId(), c.getBlockNumber(), c.getBlock({ blockTag: 'latest' })])
    expect(chainId).toBe(CHAIN_ID)
    expect(block.number).toBe(number)
    // One HTTP request carried the three calls.
    expect(p.forwarded).toBe(1)
    expect(await calls(metrics, 'eth_chainId')).toBe(1)
    expect(await calls(metrics, 'eth_blockNumber')).toBe(1)
    expect(await calls(metrics, 'eth_getBlockByNumber')).toBe(1)
    expect(await errors(metrics)).toEqual({})
  })

  it.each([
    ['http-429', 'http_429'],
    ['http-500', 'http_5xx'],
  ] as const)('counts every attempt an endpoint answers with %s, the retry included', async (fault, kind) => {
    const p = await proxy()
    const { metrics, client: c } = client([p.url])
    p.fault(fault)
    await expect(c.getBlockNumber()).rejects.toThrow(/HTTP request failed/)
    // The client's one retry: two attempts on the wire, two errors, two observed durations.
    expect(p.faulted[fault]).toBe(2)
    expect(await errors(metrics)).toEqual({ [`chain=local,method=eth_blockNumber,kind=${kind}`]: 2 })
    expect(await calls(metrics, 'eth_blockNumber')).toBe(2)
    p.fault('none')
    expect(await c.getBlockNumber()).toBeGreaterThanOrEqual(0n)
    expect(await calls(metrics, 'eth_blockNumber')).toBe(3)
    expect(await errors(metrics)).toEqual({ [`chain=local,method=eth_blockNumber,kind=${kind}`]: 2 })
  })

  it('counts a call that hangs past rpcTimeoutMs as a timeout, per attempt', async () => {
    const p = await proxy()
    const { metrics, client: c } = client([p.url], { timeoutMs: 300 })
    p.fault('stall')
    await expect(c.getBlockNumber()).rejects.toThrow(/took too long/)
    expect(p.faulted.stall).toBe(2)
    expect(await errors(metrics)).toEqual({ 'chain=local,method=eth_blockNumber,kind=timeout': 2 })
    expect(await calls(metrics, 'eth_blockNumber')).toBe(2)
  })

  it('counts an endpoint that refuses connections as network errors', async () => {
    const closed = await closedPort()
    const { metrics, client: c } = client([`http://127.0.0.1:${closed}`])
    await expect(c.getBlockNumber()).rejects.toThrow(/HTTP request failed/)
    expect(await errors(metrics)).toEqual({ 'chain=local,method=eth_blockNumber,kind=network': 2 })
  })

  it('counts the attempts on each endpoint of a fallback: the failing first one, then the one that answers', async () => {
    const [bad, good] = [await proxy(), await proxy()]
    const { metrics, client: c } = client([bad.url, good.url])
    bad.fault('http-500')
    expect(await c.getBlockNumber()).toBeGreaterThanOrEqual(0n)
    expect(bad.faulted['http-500']).toBe(2)
    expect(good.forwarded).toBe(1)
    expect(await errors(metrics)).toEqual({ 'chain=local,method=eth_blockNumber,kind=http_5xx': 2 })
    expect(await calls(metrics, 'eth_blockNumber')).toBe(3)
  })

  it('counts a JSON-RPC error answer as rpc_error and a reverted call as reverted, once each (not retried)', async () => {
    const { metrics, client: c } = client([anvil.rpcUrl])
    await expect(c.request({ method: 'dexrisk_noSuchMethod' } as never)).rejects.toThrow()
    // Creation code PUSH1 0 PUSH1 0 REVERT: eth_call runs it and the node answers "execution reverted".
    await expect(c.call({ data: '0x60006000fd' })).rejects.toThrow(/revert/i)
    expect(await errors(metrics)).toEqual({
      'chain=local,method=dexrisk_noSuchMethod,kind=rpc_error': 1,
      'chain=local,method=eth_call,kind=reverted': 1,
    })
  })
})

describe('the instrumented chain client', () => {
  /** Error class names along the cause chain, and the first line of the message: what callers branch and log on. */
  const shape = (err: unknown): string[] => {
    const out: string[] = [String(err).split('\n')[0]!]
    for (let e = err as { constructor: { name: string }; cause?: unknown } | undefined; e; e = e.cause as typeof e) out.push(e.constructor.name)
    return out
  }
  const failure = async (p: Promise<unknown>): Promise<string[]> => shape(await p.then(() => new Error('no error'), (err: unknown) => err))

  it.each(['http-429', 'http-500', 'range-limit'] as const)('fails exactly as the plain client on %s, after as many attempts', async (fault) => {
    const p = await proxy()
    if (fault === 'range-limit') p.logRangeLimit = 1
    else p.fault(fault)
    const chain = { id: CHAIN_ID, name: 'local', rpcUrls: [p.url], rpcTimeoutMs: 5_000 }
    const call = (c: ReturnType<typeof createChainClient>) =>
      fault === 'range-limit' ? c.request({ method: 'eth_getLogs', params: [{ fromBlock: '0x0', toBlock: '0x1' }] } as never) : c.getBlockNumber()
    const plain = await failure(call(createChainClient(chain)))
    const hits = fault === 'range-limit' ? p.refusedLogRanges : p.faulted[fault]
    const instrumented = await failure(call(createChainClient(chain, { metrics: createMetrics({ defaultMetrics: false }) })))
    expect(instrumented).toEqual(plain)
    expect((fault === 'range-limit' ? p.refusedLogRanges : p.faulted[fault]) - hits).toBe(hits)
  })
})

describe('rpcErrorKind', () => {
  const body = { method: 'eth_blockNumber' }
  it.each([
    ['a timeout', new TimeoutError({ body, url: 'http://x' }), 'timeout'],
    ['HTTP 429', new HttpRequestError({ url: 'http://x', status: 429 }), 'http_429'],
    ['HTTP 503', new HttpRequestError({ url: 'http://x', status: 503 }), 'http_5xx'],
    ['HTTP 403', new HttpRequestError({ url: 'http://x', status: 403 }), 'http_4xx'],
    ['no HTTP answer', new HttpRequestError({ url: 'http://x', cause: new TypeError('fetch failed') }), 'network'],
    ['a JSON-RPC error in a 429', new RpcRequestError({ body, url: 'http://x', status: 429, error: { code: -32005, message: 'rate limited' } }), 'http_429'],
    ['a JSON-RPC error in a 200', new RpcRequestError({ body, url: 'http://x', error: { code: -32005, message: 'query returned more than 10000 results' } }), 'rpc_error'],
    ['a revert', new RpcRequestError({ body, url: 'http://x', error: { code: 3, message: 'execution reverted' } }), 'reverted'],
    ['anything else', new Error('boom'), 'other'],
  ])('%s → %s', (_what, err, kind) => {
    expect(rpcErrorKind(err)).toBe(kind)
  })
})

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
