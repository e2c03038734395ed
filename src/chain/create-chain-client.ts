import { createPublicClient, fallback, http, type PublicClient, type Transport } from 'viem'
import type { Common } from '../common.ts'
import type { ChainConfig } from '../config/schema.ts'
import { instrumentTransport, rpcMetricsRecorder } from '../metrics/instrument-transport.ts'
import { rateLimitTransport } from './rate-limit-transport.ts'

/**
 * A viem client for one chain: every configured RPC URL behind a fallback transport, each with a
 * timeout and JSON-RPC request batching. Retries are the caller's (the indexer retries a whole
 * range with backoff and never advances past a block it did not read).
 *
 * With `common`, every attempt of every call, on every URL, feeds
 * `dexrisk_rpc_request_duration_seconds{chain,method}` and `dexrisk_rpc_errors_total{chain,method,kind}`
 * (a call inside a batched HTTP request counts once, under its own method).
 */
/**
 * Largest eth_getLogs answer taken, bytes. viem's default (10 MiB) refuses a dense range only after
 * the node has built it; providers cap ranges themselves, and a refusal is split.
 */
export const LOGS_RESPONSE_LIMIT = 256 * 1024 * 1024

/**
 * The client for eth_getLogs: unbatched, so a logs answer never shares one HTTP response with other
 * calls (a block, another range's logs) and, when it is too large, it is the logs call that fails
 * and is split (fetchLogs), not a neighbour that would be retried as it was; answers up to
 * LOGS_RESPONSE_LIMIT are taken.
 */
export function createLogsClient(
  chain: Pick<ChainConfig, 'id' | 'name' | 'rpcUrls' | 'rpcTimeoutMs'>,
  common?: Pick<Common, 'metrics'>,
  opts: { requestsPerSecond?: number; maxResponseBodySize?: number } = {},
): PublicClient {
  return createChainClient(chain, common, { ...opts, batch: false, maxResponseBodySize: opts.maxResponseBodySize ?? LOGS_RESPONSE_LIMIT })
}

export function createChainClient(
  chain: Pick<ChainConfig, 'id' | 'name' | 'rpcUrls' | 'rpcTimeoutMs'>,
  common?: Pick<Common, 'metrics'>,
  opts: { requestsPerSecond?: number; batch?: boolean; maxResponseBodySize?: number } = {},
): PublicClient {
  const onAttempt = common ? rpcMetricsRecorder(common.metrics, chain.name) : undefined
  const transports = chain.rpcUrls.map((url) => {
    // Batching suits many small calls (blocks, balances); a log-heavy client turns it off, since
    // several eth_getLogs answers in one HTTP response can exceed what the client takes.
    const batch = opts.batch === false ? false : { batchSize: 200, wait: 0 }
    const limited = (t: Transport): Transport => (opts.requestsPerSecond ? rateLimitTransport(t, opts.requestsPerSecond) : t)
    const size = opts.maxResponseBodySize === undefined ? {} : { maxResponseBodySize: opts.maxResponseBodySize }
    if (!onAttempt) return limited(http(url, { timeout: chain.rpcTimeoutMs, retryCount: 1, retryDelay: 100, batch, ...size }))
    // The instrumented transport does the retrying, so that each attempt is seen.
    return instrumentTransport(limited(http(url, { timeout: chain.rpcTimeoutMs, retryCount: 0, batch, ...size })), { retryCount: 1, retryDelay: 100, onAttempt })
  })
  return createPublicClient({
    chain: {
      id: chain.id,
      name: chain.name,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: chain.rpcUrls } },
    },
    transport: transports.length === 1 ? transports[0]! : fallback(transports, { rank: false }),
    cacheTime: 0,
  })
}
