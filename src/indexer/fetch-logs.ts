import type { Address, Hex, PublicClient } from 'viem'
import type { RawLog } from '../domain/log.ts'
import { compareLogs } from './decode-range.ts'

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

/** eth_getLogs for a block range and a set of topic0s, as RawLogs sorted by (block, log index). */
export async function fetchLogs(
  client: PublicClient,
  range: { fromBlock: bigint; toBlock: bigint; topics: Hex[]; address?: Address[] },
): Promise<RawLog[]> {
  const params: Record<string, unknown> = {
    fromBlock: `0x${range.fromBlock.toString(16)}`,
    toBlock: `0x${range.toBlock.toString(16)}`,
    topics: [range.topics],
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
