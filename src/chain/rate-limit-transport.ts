import PQueue from 'p-queue'
import { createTransport, type EIP1193RequestFn, type Transport } from 'viem'

/**
 * At most `requestsPerSecond` JSON-RPC calls a second through `transport` (a call inside a batched
 * HTTP request counts once: providers meter calls, not HTTP requests). Calls wait their turn in
 * order (p-queue's interval cap); viem's retries of a call go through the limit again.
 */
export function rateLimitTransport(transport: Transport, requestsPerSecond: number): Transport {
  const limiter = new PQueue({ intervalCap: requestsPerSecond, interval: 1_000, carryoverIntervalCount: true })
  return (params) => {
    const inner = transport(params)
    const { config } = inner
    const request = ((args: { method: string; params?: unknown }, options?: { signal?: AbortSignal }) =>
      limiter.add(() => config.request(args as never, options))) as EIP1193RequestFn
    return createTransport(
      { key: config.key, name: config.name, type: config.type, methods: config.methods, timeout: config.timeout, retryCount: config.retryCount, retryDelay: config.retryDelay, request },
      inner.value,
    )
  }
}
