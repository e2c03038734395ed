import {
  BaseError as ViemError,
  CallExecutionError,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  ExecutionRevertedError,
  HttpRequestError,
  InternalRpcError,
  InvalidRequestRpcError,
  LimitExceededRpcError,
  MethodNotFoundRpcError,
  MethodNotSupportedRpcError,
  ResourceUnavailableRpcError,
  SocketClosedError,
  TimeoutError,
  WebSocketRequestError,
} from 'viem'
import { isTransientError } from '../errors.ts'

/**
 * What went wrong in a contract read (readContract, getBalance): the transport, or the contract.
 * Token metadata and balance reads both retry the first and record the second.
 */

function walkFind(err: unknown, match: (e: unknown) => boolean): unknown {
  if (!(err instanceof ViemError)) return match(err) ? err : undefined
  return err.walk(match) ?? undefined
}

/**
 * A fault between us and the contract: the request did not reach a node, timed out, was rate
 * limited, or the node failed internally. viem turns a JSON-RPC -32603 "Internal error" into a
 * ContractFunctionRevertedError, so such a "revert" is a transport fault too unless it carries the
 * contract's own revert data or names a revert.
 */
export function isTransportError(err: unknown): boolean {
  const revert = walkFind(err, (e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | undefined
  if (revert?.raw !== undefined && /^0x[0-9a-fA-F]{8,}$/.test(revert.raw)) return false
  const hit = walkFind(err, (e) => {
    if (
      e instanceof HttpRequestError ||
      e instanceof TimeoutError ||
      e instanceof WebSocketRequestError ||
      e instanceof SocketClosedError ||
      e instanceof LimitExceededRpcError ||
      e instanceof ResourceUnavailableRpcError
    )
      return true
    const code = (e as { code?: unknown } | null)?.code
    if (typeof code !== 'number') return false
    const text = rpcText(e)
    if (/revert/i.test(text)) return false
    if (e instanceof InternalRpcError || code === InternalRpcError.code) return true
    if (code === LimitExceededRpcError.code || code === ResourceUnavailableRpcError.code) return true
    // -32000…-32099: server errors; only the ones that say the node, not the call, failed.
    return code <= -32000 && code >= -32099 && /internal error|header not found|timed? ?out|rate limit|too many requests|try again/i.test(text)
  })
  return hit !== undefined && hit !== null
}

function rpcText(e: unknown): string {
  const { details, shortMessage, message } = e as { details?: unknown; shortMessage?: unknown; message?: unknown }
  return [details, shortMessage, message].filter((x) => typeof x === 'string').join(' ')
}

/** The contract reverted, or there is no contract (no data returned). */
export function isRevert(err: unknown): boolean {
  const hit = walkFind(
    err,
    (e) => e instanceof ContractFunctionRevertedError || e instanceof ContractFunctionZeroDataError || e instanceof ExecutionRevertedError,
  )
  return hit !== undefined && hit !== null
}

/**
 * The call returned data that did not decode (a wrong type, a short answer): readContract wraps
 * every failure of the call itself in a CallExecutionError, so a ContractFunctionExecutionError
 * without one failed while decoding.
 */
export function isDecodeFailure(err: unknown): boolean {
  if (!(err instanceof ContractFunctionExecutionError)) return false
  return err.walk((e) => e instanceof CallExecutionError) === null
}

/**
 * What a chain-following loop retries: any RPC failure (every viem error: HTTP, timeout, node
 * error) and any transient fault (database, Redis), except an RPC answer a retry cannot change
 * (isDeterministicRpcError). A dexrisk fatal error or a bug is not retried either.
 */
export function isRetryableRpcOrTransient(err: unknown): boolean {
  return (err instanceof ViemError && deterministicRpcProblem(err) === null) || isTransientError(err)
}

/**
 * An RPC answer that asking again cannot change, at start (an indexer retries it once it follows
 * the chain: then it may be a quota, a CDN or a deploy), with what to fix: the provider does not offer the
 * method (JSON-RPC -32601, -32004), calls the request malformed (-32600), or refuses the endpoint
 * or key (HTTP 401, 403, 404). Invalid params (-32602) is not among them: providers also use it for
 * a block range that is too large or a block they pruned, which splitting or waiting can cure.
 * Null when the error is not one of these.
 */
export function deterministicRpcProblem(err: unknown): string | null {
  if (walkFind(err, (e) => e instanceof MethodNotFoundRpcError || e instanceof MethodNotSupportedRpcError) !== undefined)
    return 'the RPC does not offer a method dexrisk needs (eth_getLogs, eth_getBlockByNumber, eth_call, eth_getBalance, eth_chainId): use a provider that does'
  // -32600 is also how geth refuses a JSON-RPC batch that is too large: that one passes.
  const invalid = walkFind(err, (e) => e instanceof InvalidRequestRpcError) as InvalidRequestRpcError | undefined
  if (invalid !== undefined && !/batch/i.test(invalid.details ?? invalid.message))
    return 'the RPC calls the request malformed: is the URL a JSON-RPC endpoint of an EVM chain?'
  const http = walkFind(err, (e) => e instanceof HttpRequestError) as HttpRequestError | undefined
  if (http?.status === 401 || http?.status === 403) return `the RPC refuses the request (HTTP ${http.status}): check the API key or the allowed origins of the URL`
  if (http?.status === 404) return 'the RPC answers HTTP 404: check the URL path'
  return null
}

/**
 * An RPC URL as it may appear in a log: no user or password, every query value hidden, and any path
 * segment that looks like an API key (16 or more letters, digits, `-` or `_`, with a digit in it)
 * masked — providers put keys in the path (`/v2/<key>`) or the query (`?apikey=`).
 */
export function maskRpcUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return '(not a URL)'
  }
  u.username = ''
  u.password = ''
  for (const key of [...u.searchParams.keys()]) u.searchParams.set(key, '***')
  u.pathname = u.pathname
    .split('/')
    .map((seg) => (/^[A-Za-z0-9_-]{16,}$/.test(seg) && /\d/.test(seg) ? `${seg.slice(0, 4)}***` : seg))
    .join('/')
  return u.toString().replaceAll('%2A', '*')
}

/**
 * One line for a failed RPC call: the error's first line, then what a person needs to act on it —
 * the JSON-RPC method(s), the HTTP status and the endpoint (masked: maskRpcUrl). viem's own first
 * line ("HTTP request failed.") names none of them.
 */
export function describeRpcError(err: unknown, firstLine: string): string {
  let url: string | undefined
  let status: number | undefined
  let methods: string[] = []
  let e: unknown = err
  for (let depth = 0; e && depth < 8; depth++) {
    const x = e as { url?: unknown; status?: unknown; body?: unknown; metaMessages?: unknown; cause?: unknown }
    if (url === undefined && typeof x.url === 'string') url = x.url
    if (status === undefined && typeof x.status === 'number') status = x.status
    if (methods.length === 0 && x.body !== undefined) methods = methodsOf(x.body)
    // viem's TimeoutError keeps the request body only in its message lines.
    if (methods.length === 0 && Array.isArray(x.metaMessages)) methods = methodsOf(bodyLine(x.metaMessages))
    e = x.cause
  }
  const parts = [
    methods.length > 0 ? `method ${[...new Set(methods)].join(', ')}` : undefined,
    status !== undefined ? `HTTP status ${status}` : undefined,
    url !== undefined ? `at ${maskRpcUrl(url)}` : undefined,
  ].filter((p): p is string => p !== undefined)
  return parts.length === 0 ? firstLine : `${firstLine} (${parts.join('; ')})`
}

function bodyLine(lines: unknown[]): unknown {
  const line = lines.find((l): l is string => typeof l === 'string' && l.startsWith('Request body: '))
  if (line === undefined) return undefined
  try {
    return JSON.parse(line.slice('Request body: '.length)) as unknown
  } catch {
    return undefined
  }
}

function methodsOf(body: unknown): string[] {
  const calls = Array.isArray(body) ? body : [body]
  return calls.map((c) => (c as { method?: unknown } | null)?.method).filter((m): m is string => typeof m === 'string')
}
