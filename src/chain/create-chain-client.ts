import { createPublicClient, fallback, http, type PublicClient } from 'viem'
import type { ChainConfig } from '../config/schema.ts'

/**
 * A viem client for one chain: every configured RPC URL behind a fallback transport, each with a
 * timeout and JSON-RPC request batching. Retries are the caller's (the indexer retries a whole
 * range with backoff and never advances past a block it did not read).
 */
export function createChainClient(chain: Pick<ChainConfig, 'id' | 'name' | 'rpcUrls' | 'rpcTimeoutMs'>): PublicClient {
  const transports = chain.rpcUrls.map((url) =>
    http(url, { timeout: chain.rpcTimeoutMs, retryCount: 1, retryDelay: 100, batch: { batchSize: 200, wait: 0 } }),
  )
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
