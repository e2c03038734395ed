import type { Address, Hex, PublicClient } from 'viem'
import type { RawLog } from '../domain/log.ts'
import { compareLogs } from './decode-range.ts'
import { isTransientError } from '../errors.ts'
import { retry, type RetryOptions } from '../retry.ts'

type RpcLog = {
  address: Address
  topics: Hex[]
  data: Hex
  blockNumber: Hex
  blockHash: Hex
  transactionHash: Hex
  transactionIndex: Hex
  logIndex: Hex
  removed?: boolean
}

/**
 * Which logs to ask for: a list of topic0s, or a full eth_getLogs topic filter (one entry per topic
 * position: a list of alternatives, or null for any).
 */
export type TopicFilter = Hex[] | (Hex[] | null)[]

const isTopic0List = (t: TopicFilter): t is Hex[] => t.every((x) => typeof x === 'string')

/**
 * eth_getLogs for a block range and a set of topic0s (or a full topic filter), as RawLogs sorted by (block, log index). A
 * range the provider refuses as too large (or as too many results) is read in halves, recursively,
 * down to single blocks: slower, never a skipped block. `onSplit` hears of each split.
 */
export async function fetchLogs(
  client: PublicClient,
  range: {
    fromBlock: bigint
    toBlock: bigint
    topics: TopicFilter
    address?: Address[]
    onSplit?: (from: bigint, to: bigint, err: unknown) => void
    /**
     * Retries of each request (a range too large is never retried: it is split): with them, a
     * request that fails midway through a split range is asked again alone, and the parts already
     * read are kept, instead of the whole range failing. Default: none (the caller retries).
     */
    retry?: RetryOptions
  },
): Promise<RawLog[]> {
  try {
    const policy = range.retry
    if (!policy) return await fetchLogsOnce(client, range)
    const retryable = policy.retryable ?? isTransientError
    return await retry(() => fetchLogsOnce(client, range), { ...policy, retryable: (err) => !isRangeTooLarge(err) && retryable(err) })
  } catch (err) {
    if (!isRangeTooLarge(err) || range.fromBlock >= range.toBlock) throw err
    range.onSplit?.(range.fromBlock, range.toBlock, err)
    const mid = range.fromBlock + (range.toBlock - range.fromBlock) / 2n
    const left = await fetchLogs(client, { ...range, toBlock: mid })
    const right = await fetchLogs(client, { ...range, fromBlock: mid + 1n })
    return left.concat(right)
  }
}

async function fetchLogsOnce(
  client: PublicClient,
  range: { fromBlock: bigint; toBlock: bigint; topics: TopicFilter; address?: Address[] },
): Promise<RawLog[]> {
  const params: Record<string, unknown> = {
    fromBlock: `0x${range.fromBlock.toString(16)}`,
    toBlock: `0x${range.toBlock.toString(16)}`,
    topics: isTopic0List(range.topics) ? [range.topics] : range.topics,
  }
  if (range.address) params.address = range.address
  const logs = (await client.request({ method: 'eth_getLogs', params: [params] } as never)) as RpcLog[]
  return logs
    .filter((l) => !l.removed)
    .map((l) => ({
      address: l.address.toLowerCase() as Address,
      topics: l.topics,
      data: l.data,
      blockNumber: BigInt(l.blockNumber),
      blockHash: l.blockHash,
      transactionHash: l.transactionHash,
      transactionIndex: Number(l.transactionIndex),
      logIndex: Number(l.logIndex),
    }))
    .sort(compareLogs)
}

/**
 * A provider's refusal of an eth_getLogs range as too large or too many results (JSON-RPC -32005
 * limit exceeded, or the usual messages of Alchemy, Infura, QuickNode and public nodes), or an
 * answer larger than the client takes (viem's ResponseBodyTooLargeError): either way, fewer blocks
 * per request is the cure.
 */
export function isRangeTooLarge(err: unknown): boolean {
  let e: unknown = err
  for (let depth = 0; e && depth < 6; depth++) {
    const code = (e as { code?: unknown }).code
    const msg = e instanceof Error ? e.message : ''
    if (code === -32005 || (e as { name?: unknown }).name === 'ResponseBodyTooLargeError') return true
    if (/more than \d+ results|range (is )?too (large|wide|big)|block range|too many (results|logs|blocks)|response size|limit exceeded|exceed(s|ed)? (the )?(max|limit)/i.test(msg)) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}
