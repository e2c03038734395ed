import { Queue } from 'bullmq'
import type { Hex } from 'viem'
import type { AccountResolver } from '../domain/accounts.ts'
import type { NormalizedSwap, PriceObservation } from '../domain/types.ts'
import { batchJobId, encodeBatch, type RoutedSwap, type TradeBatch } from './batch.ts'
import { bullConnection } from './connection.ts'
import { shardOf, shardQueueName } from './shard-of.ts'

export type RangeOutput = {
  chainId: number
  fromBlock: bigint
  toBlock: bigint
  toBlockHash: Hex | null
  swaps: NormalizedSwap[]
  prices: PriceObservation[]
  /**
   * Publication generation: set when an indexer starts and whenever it publishes a range again
   * (lost batches). A retried publish of the same range in one generation has the same job id and
   * BullMQ drops the copy; a new generation gets new ids, so a stale job under the old id (failed,
   * delayed, completed) can never swallow the range published again. Duplicates across generations
   * are harmless: the shard's checkpoint skips them.
   */
  generation: number
}

export type BatchPublisher = {
  /** Routes a range's swaps to shards and enqueues one batch per shard (every shard, every range). */
  publish(range: RangeOutput): Promise<void>
  queue(shard: number): Queue
  close(): Promise<void>
}

/** Splits a range into one batch per shard: each account's swaps to its shard, all prices to all. */
export function routeRange(range: Omit<RangeOutput, 'generation'>, shards: number, accounts: AccountResolver): TradeBatch[] {
  const perShard: RoutedSwap[][] = Array.from({ length: shards }, () => [])
  for (const s of range.swaps) {
    const account = accounts.accountOf(s.trader)
    // Swaps of wallets outside every account still go to one shard, which stores them in `swaps`.
    perShard[shardOf(account ?? s.trader, shards)]!.push({ ...s, account })
  }
  return perShard.map((swaps, shard) => ({
    chainId: range.chainId,
    shard,
    fromBlock: range.fromBlock,
    toBlock: range.toBlock,
    toBlockHash: range.toBlockHash,
    swaps,
    prices: range.prices,
  }))
}

export function createBatchPublisher(opts: {
  redisUrl: string
  prefix: string
  shards: number
  accounts: AccountResolver
  onError?: (err: Error) => void
}): BatchPublisher {
  const connection = bullConnection(opts.redisUrl)
  const queues = Array.from(
    { length: opts.shards },
    (_, shard) =>
      new Queue(shardQueueName(shard), {
        connection,
        prefix: opts.prefix,
        defaultJobOptions: { removeOnComplete: { count: 1_000 }, attempts: 1 },
      }),
  )
  // Without a listener an 'error' event would crash the process; a Redis restart is survivable.
  for (const q of queues) q.on('error', (err) => opts.onError?.(err))
  let closed: Promise<void> | undefined
  return {
    async publish(range) {
      const batches = routeRange(range, opts.shards, opts.accounts)
      await Promise.all(batches.map((b) => queues[b.shard]!.add('batch', encodeBatch(b), { jobId: batchJobId(b, range.generation) })))
    },
    queue: (shard) => queues[shard]!,
    close: () => (closed ??= Promise.all(queues.map((q) => q.close())).then(() => undefined)),
  }
}
