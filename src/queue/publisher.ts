import type { Queue } from 'bullmq'
import type { Address, Hex } from 'viem'
import type { AccountResolver } from '../domain/accounts.ts'
import type { BalanceReading, NormalizedSwap, PriceObservation, WalletTransfer } from '../domain/types.ts'
import type { WalletOwner } from '../domain/account-directory.ts'
import { batchJobId, encodeBatch, type RoutedDetachment, type RoutedReading, type RoutedSwap, type RoutedTransfer, type TradeBatch } from './batch.ts'
import { openQueue } from './connection.ts'
import type { RedisTarget } from '../db/redis.ts'
import { shardOf, shardQueueName } from './shard-of.ts'

export type RangeOutput = {
  chainId: number
  fromBlock: bigint
  toBlock: bigint
  toBlockHash: Hex | null
  /** Timestamp of toBlock, unix seconds. */
  toBlockTime: number | null
  swaps: NormalizedSwap[]
  prices: PriceObservation[]
  /** Named accounts: watched wallets' logged balance changes and balance readings (else empty). */
  transfers?: WalletTransfer[]
  readings?: BalanceReading[]
  /** Named accounts: wallets taken out of their accounts since the last range, detached at fromBlock. */
  detachments?: WalletOwner[]
  /**
   * Publication generation: set when an indexer starts and whenever it publishes a range again
   * (lost batches). A retried publish of the same range in one generation has the same job id and
   * BullMQ drops the copy; a new generation gets new ids, so a stale job under the old id (failed,
   * delayed, completed) can never swallow the range published again. Duplicates across generations
   * are harmless: the shard's checkpoint skips them.
   */
  generation: number
}

/** Job name of a rollback order on a shard queue (batches are named 'batch'). */
export const REWIND_JOB = 'rewind'
/** A rollback order: drop what the shard applied of `chainId` after block `toBlock`. */
export type RewindJob = { chainId: number; toBlock: string }

export type BatchPublisher = {
  /**
   * Routes a range's swaps to shards and enqueues one batch per shard (every shard, every range).
   * `accounts` is the directory the range was read with (an indexer following account changes
   * passes its own); default: the publisher's.
   */
  publish(range: RangeOutput, accounts?: AccountResolver): Promise<void>
  /**
   * Tells every shard to roll one chain back to `toBlock` (a reorg deeper than the confirmations):
   * a `rewind` job, queued behind the batches already published, ahead of the ranges published again.
   */
  rewind(chainId: number, toBlock: bigint, generation: number): Promise<void>
  queue(shard: number): Queue
  close(): Promise<void>
}

/**
 * Splits a range into one batch per shard: each account's swaps, transfers and readings to its
 * shard, all prices to all. A swap belongs to the account of its transaction sender or, with named
 * accounts, of its recipient (a Safe or ERC-4337 wallet whose transaction a relayer or bundler
 * sent receives the proceeds).
 */
export function routeRange(range: Omit<RangeOutput, 'generation'>, shards: number, accounts: AccountResolver): TradeBatch[] {
  const batches: TradeBatch[] = Array.from({ length: shards }, (_, shard) => ({
    chainId: range.chainId,
    shard,
    fromBlock: range.fromBlock,
    toBlock: range.toBlock,
    toBlockHash: range.toBlockHash,
    toBlockTime: range.toBlockTime,
    swaps: [] as RoutedSwap[],
    prices: range.prices,
    transfers: [] as RoutedTransfer[],
    readings: [] as RoutedReading[],
    detachments: [] as RoutedDetachment[],
  }))
  // A detachment goes to the shard of the account the wallet leaves (the resolver no longer knows it).
  for (const d of range.detachments ?? []) batches[shardOf(d.account, shards)]!.detachments.push({ wallet: d.wallet, account: d.account })
  for (const s of range.swaps) {
    const { account, shard } = swapOwner(s, shards, accounts)
    batches[shard]!.swaps.push({ ...s, account })
  }
  const owner = (wallet: Address, what: string): string => {
    const account = accounts.accountOf(wallet)
    if (account === null) throw new Error(`${what} of ${wallet}, which belongs to no account (chain ${range.chainId})`)
    return account
  }
  for (const t of range.transfers ?? []) {
    const account = owner(t.wallet, 'transfer')
    batches[shardOf(account, shards)]!.transfers.push({ ...t, account })
  }
  for (const r of range.readings ?? []) {
    const account = owner(r.wallet, 'balance reading')
    batches[shardOf(account, shards)]!.readings.push({ ...r, account })
  }
  return batches
}

/**
 * Whose a swap is: the account of its transaction sender or, with named accounts, of its recipient;
 * and the shard that stores it (a swap of no watched wallet still goes to one shard, by trader).
 */
export function swapOwner(s: Pick<NormalizedSwap, 'trader' | 'recipient'>, shards: number, accounts: AccountResolver): { account: string | null; shard: number } {
  const account = accounts.accountOf(s.trader) ?? (accounts.mode === 'named' ? accounts.accountOf(s.recipient) : null)
  return { account, shard: shardOf(account ?? s.trader, shards) }
}

export function createBatchPublisher(opts: {
  /** One Redis's URL, or a Redis Cluster. */
  redisUrl: RedisTarget
  prefix: string
  shards: number
  accounts: AccountResolver
  onError?: (err: Error) => void
}): BatchPublisher {
  const queues = Array.from(
    { length: opts.shards },
    (_, shard) =>
      openQueue(shardQueueName(shard), opts.redisUrl, {
        prefix: opts.prefix,
        defaultJobOptions: { removeOnComplete: { count: 1_000 }, attempts: 1 },
      }),
  )
  // Without a listener an 'error' event would crash the process; a Redis restart is survivable.
  for (const q of queues) q.on('error', (err) => opts.onError?.(err))
  let closed: Promise<void> | undefined
  return {
    async publish(range, accounts = opts.accounts) {
      const batches = routeRange(range, opts.shards, accounts)
      await Promise.all(batches.map((b) => queues[b.shard]!.add('batch', encodeBatch(b), { jobId: batchJobId(b, range.generation) })))
    },
    async rewind(chainId, toBlock, generation) {
      const data: RewindJob = { chainId, toBlock: toBlock.toString() }
      await Promise.all(queues.map((q) => q.add(REWIND_JOB, data, { jobId: `c${chainId}-rewind-${toBlock}-g${generation}` })))
    },
    queue: (shard) => queues[shard]!,
    close: () => (closed ??= Promise.all(queues.map((q) => q.close())).then(() => undefined)),
  }
}
