import type { PublicClient } from 'viem'

/** The first block whose timestamp is at or after `time` (unix seconds): a binary search over block headers. */
export async function blockAtTime(client: PublicClient, time: number, head: bigint): Promise<bigint> {
  let lo = 0n
  let hi = head
  if (Number((await client.getBlock({ blockNumber: hi })).timestamp) < time) return head
  while (lo < hi) {
    const mid = (lo + hi) / 2n
    if (Number((await client.getBlock({ blockNumber: mid })).timestamp) < time) lo = mid + 1n
    else hi = mid
  }
  return lo
}
