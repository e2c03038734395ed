import { createTransport, HttpRequestError, RpcRequestError, TimeoutError, type EIP1193RequestFn, type Transport } from 'viem'
import type { Metrics, RpcErrorKind } from './create-metrics.ts'

/** One attempt of one JSON-RPC call: its method, how long it took, and its error if it failed. */
export type RpcAttempt = { method: string; seconds: number; error?: unknown }

export type InstrumentTransportOptions = {
  /** Retries per call after a failed attempt (viem's retryCount: 429, 5xx, timeouts, node errors). */
  retryCount: number
  /** Base delay between retries, ms (doubling; a Retry-After header wins), as viem's retryDelay. */
  retryDelay: number
  onAttempt: (attempt: RpcAttempt) => void
}

/**
 * A transport that reports every attempt of every JSON-RPC call. It calls the wrapped transport's
 * raw request (one attempt: for `http()`, one place in a batched HTTP request, so each call of a
 * batch is reported once with its own method) and does the retrying itself, with viem's own retry
 * and error mapping (createTransport's buildRequest) — so a 429 that the retry cured is still
 * counted, and the caller sees exactly the errors and retries the wrapped transport would give.
 * Put inside `fallback()`, each endpoint's attempts are reported.
 */
export function instrumentTransport(transport: Transport, opts: InstrumentTransportOptions): Transport {
  return (params) => {
    const inner = transport({ ...params, retryCount: 0 })
    const { config } = inner
    const request = (async (args: { method: string; params?: unknown }, options?: { signal?: AbortSignal }) => {
      const start = performance.now()
      try {
        const result: unknown = await config.request(args as never, options)
        opts.onAttempt({ method: args.method, seconds: (performance.now() - start) / 1000 })
        return result
      } catch (error) {
        // An abort is the caller's decision, not a fault of the endpoint.
        if (!isAbort(error)) opts.onAttempt({ method: args.method, seconds: (performance.now() - start) / 1000, error })
        throw error
      }
    }) as EIP1193RequestFn
    return createTransport(
      {
        key: config.key,
        name: config.name,
        type: config.type,
        methods: config.methods,
        timeout: config.timeout,
        retryCount: opts.retryCount,
        retryDelay: opts.retryDelay,
        request,
      },
      inner.value,
    )
  }
}

/** Feeds `dexrisk_rpc_request_duration_seconds` and `dexrisk_rpc_errors_total` of one chain. */
export function rpcMetricsRecorder(metrics: Metrics, chain: string): (attempt: RpcAttempt) => void {
  const { requestDuration, errors } = metrics.rpc
  return ({ method, seconds, error }) => {
    requestDuration.observe({ chain, method }, seconds)
    if (error !== undefined) errors.inc({ chain, method, kind: rpcErrorKind(error) })
  }
}

/**
 * What kind of failure an attempt met, from the raw error of viem's HTTP client: `timeout` (no
 * answer within the transport's timeout), `http_429`, `http_5xx`, `http_4xx` (the response status,
 * with or without a JSON-RPC body), `network` (no HTTP answer: refused, reset, unreadable),
 * `reverted` (the node answered that the call reverted), `rpc_error` (any other JSON-RPC error
 * answer), `other`.
 */
export function rpcErrorKind(err: unknown): RpcErrorKind {
  if (err instanceof TimeoutError) return 'timeout'
  if (err instanceof HttpRequestError || err instanceof RpcRequestError) {
    const status = err.status
    if (status === 429) return 'http_429'
    if (status !== undefined && status >= 500) return 'http_5xx'
    if (status !== undefined && status >= 400) return 'http_4xx'
    if (err instanceof HttpRequestError) return status === undefined ? 'network' : 'other'
    return err.code === 3 || /revert/i.test(err.details) ? 'reverted' : 'rpc_error'
  }
  return 'other'
}

function isAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError'
}
