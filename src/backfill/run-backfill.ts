import type pg from 'pg'
import type { PublicClient } from 'viem'
import type { Common } from '../common.ts'
import type { ChainConfig } from '../config/schema.ts'
import { createChainClient, createLogsClient } from '../chain/create-chain-client.ts'
import { onDatabase, withTransaction } from '../db/pool.ts'
import { isRetryableRpcOrTransient } from '../chain/call-errors.ts'
import { createAccountResolver } from '../domain/accounts.ts'
import { ConfigError, errorLine } from '../errors.ts'
import { watchedTopics } from '../indexer/decode-range.ts'
import { fetchLogs } from '../indexer/fetch-logs.ts'
import { chainDexes, discoverKnownPools } from '../indexer/pool-discovery.ts'
import { loadPoolRegistry } from '../indexer/pool-registry.ts'
import { createDexRangeReader, keepRejected } from '../indexer/read-range.ts'
import { createTokenCache } from '../indexer/token-cache.ts'
import type { RoutedSwap } from '../queue/batch.ts'
import { swapOwner } from '../queue/publisher.ts'
import { retry } from '../retry.ts'
import { insertPrices, insertSwapsAndTrades } from '../db/swap-rows.ts'
import { RangePlanner, mergeSpans, uncovered, type BlockSpan } from './coverage.ts'

export type BackfillOptions = {
  common: Common
  chain: ChainConfig
  pool: pg.Pool
  fromBlock: bigint
  toBlock: bigint
  /** Configured DEX names to read; default every DEX of the chain. */
  dexes?: readonly string[]
  /** Ranges read at once. Default 4. */
  concurrency?: number
  /** JSON-RPC calls per second, at most. Default: no limit. */
  requestsPerSecond?: number
  /** First range size, blocks. Default: the chain's maxBlockRange. */
  initialRange?: number
  /** Largest range size, blocks. Default 100000. */
  maxRange?: number
  /** Read ranges again even where earlier runs covered them (rows are keyed: nothing is written twice). */
  redo?: boolean
  /** Stops handing out ranges; those being read finish and are kept. */
  signal?: AbortSignal
  onProgress?: (p: BackfillProgress) => void
  /** A client to read with (tests); default one built from the chain's config. */
  client?: PublicClient
}

export type BackfillProgress = {
  /** Blocks of the run's span done, counting those earlier runs covered. */
  blocksDone: number
  blocksTotal: number
  /** Blocks and swaps read by this run. */
  blocksRead: number
  swaps: number
  elapsedMs: number
  rangeSize: number
  retries: number
  splits: number
}

export type BackfillResult = BackfillProgress & {
  fromBlock: bigint
  toBlock: bigint
  prices: number
  rejected: number
  ranges: number
  /** Blocks earlier runs had covered, not read again. */
  skippedBlocks: number
  /** Blocks of [fromBlock, toBlock] no range covers at the end: empty unless interrupted. */
  gaps: BlockSpan[]
  interrupted: boolean
}

/** Rows per insert statement. */
const WRITE_CHUNK = 1_000

/** Logs per range the planner aims at: big enough to amortise a request, small enough for any provider. */
const TARGET_LOGS = 5_000

/**
 * Backfills one chain's swaps and prices over [fromBlock, toBlock] through the live indexer's own
 * decode path (src/indexer/read-range.ts), writing the same `swaps` and `prices` rows it writes
 * (keyed by chain, tx and log: a block read twice is written once). Pools first: every factory and
 * singleton is scanned up to `toBlock` before any swap is read, so a range never meets a pool that
 * a range before it (read concurrently) creates. Then ranges are read `concurrency` at a time,
 * sized by the planner; each range's rows are written in one transaction with its
 * `backfill_ranges` row, so an interrupted run resumes at exactly the blocks not yet written.
 * Failed RPC calls (429, 5xx, timeouts, dropped sockets) and database outages are retried with
 * backoff; a range the provider refuses as too large is read in halves. At the end every block of
 * the span must be covered (`gaps` empty), or the run says which are not.
 */
export async function runBackfill(opts: BackfillOptions): Promise<BackfillResult> {
  const { common, chain, pool } = opts
  const started = performance.now()
  const log = common.log.child({ chain: chain.name, chainId: chain.id, backfill: true })
  const dexKey = opts.dexes && opts.dexes.length > 0 ? [...new Set(opts.dexes)].sort().join(',') : '*'
  if (opts.dexes) {
    const names = new Set(chain.dexes.map((d) => d.name ?? d.family))
    for (const d of opts.dexes)
      if (!names.has(d)) throw new ConfigError(`no DEX named "${d}" on chain ${chain.name} (configured: ${[...names].join(', ')})`, { context: { field: `chains.${chain.name}.dexes` } })
  }
  if (opts.toBlock < opts.fromBlock) throw new ConfigError(`backfill range ends (${opts.toBlock}) before it starts (${opts.fromBlock})`, { context: { chainId: chain.id } })
  const want: BlockSpan = { from: opts.fromBlock, to: opts.toBlock }
  const total = Number(want.to - want.from + 1n)

  const db = <T>(step: () => Promise<T>): Promise<T> => onDatabase(pool, step)
  const signal = opts.signal
  let retries = 0
  let splits = 0
  const retryOpts = (what: string) => ({
    retryable: isRetryableRpcOrTransient,
    aborted: () => signal?.aborted === true,
    maxDelayMs: 10_000,
    onRetry: (err: unknown, attempt: number, delay: number) => {
      retries++
      log.warn({ what, err: errorLine(err), attempt, delay }, 'backfill step failed, retrying')
    },
  })

  const coveredSpans = async (): Promise<BlockSpan[]> => {
    const r = await db(() =>
      pool.query<{ from_block: string; to_block: string }>(
        'SELECT from_block::text, to_block::text FROM backfill_ranges WHERE chain_id = $1 AND dexes = $2 AND to_block >= $3 AND from_block <= $4',
        [chain.id, dexKey, want.from.toString(), want.to.toString()],
      ),
    )
    return mergeSpans(r.rows.map((x) => ({ from: BigInt(x.from_block), to: BigInt(x.to_block) })))
  }
  const todo = opts.redo ? [want] : uncovered(want, await retry(coveredSpans, retryOpts('reading earlier backfill ranges')))
  const todoBlocks = todo.reduce((n, s) => n + Number(s.to - s.from + 1n), 0)
  const skippedBlocks = total - todoBlocks

  const progress: BackfillProgress = { blocksDone: skippedBlocks, blocksTotal: total, blocksRead: 0, swaps: 0, elapsedMs: 0, rangeSize: 0, retries: 0, splits: 0 }
  let prices = 0
  let rejected = 0
  let ranges = 0

  if (todo.length > 0) {
    const limits = { requestsPerSecond: opts.requestsPerSecond }
    const client = opts.client ?? createChainClient(chain, common, limits)
    // eth_getLogs unbatched (concurrent ranges' answers must not add up to one HTTP response), and
    // answers up to LOGS_RESPONSE_LIMIT taken.
    const logsClient = opts.client ?? createLogsClient(chain, common, limits)
    const rpcChainId = await retry(() => client.getChainId(), retryOpts('eth_chainId'))
    if (rpcChainId !== chain.id) throw new ConfigError(`RPC answers chain id ${rpcChainId}, config says ${chain.id}`, { context: { field: `chains.${chain.name}.id` } })
    const dexes = chainDexes(chain)
    const registry = await retry(() => db(() => loadPoolRegistry(pool, chain.id)), retryOpts('loading pools'))
    const tokens = await retry(() => db(() => createTokenCache({ pool, client, chainId: chain.id, log })), retryOpts('loading tokens'))
    const onSplit = (): void => {
      splits++
    }
    const maxRange = opts.maxRange ?? 100_000
    // Each eth_getLogs retried alone (a failure midway through a split range keeps the parts read).
    const requestRetry = { ...retryOpts('eth_getLogs'), maxAttempts: 12, maxDelayMs: 5_000 }
    await retry(() => discoverKnownPools({ pool, client: logsClient, chain, registry, dexes, upTo: want.to, step: maxRange, onSplit, retry: requestRetry }), retryOpts('scanning factories'))
    const reader = createDexRangeReader({
      client,
      chainId: chain.id,
      registry,
      factories: dexes.factories,
      singletons: dexes.singletons,
      tokens,
      dexNames: dexKey === '*' ? undefined : new Set(opts.dexes),
    })
    const accounts = createAccountResolver(common.config.accounts)
    const shards = common.config.shards
    const topics = watchedTopics()
    const planner = new RangePlanner(todo, { initial: opts.initialRange ?? chain.maxBlockRange, max: maxRange, targetLogs: TARGET_LOGS })

    const readRange = async (range: BlockSpan): Promise<void> => {
      let split = false
      const t0 = performance.now()
      const logs = await fetchLogs(logsClient, {
        fromBlock: range.from,
        toBlock: range.to,
        topics,
        retry: requestRetry,
        onSplit: () => {
          split = true
          onSplit()
        },
      })
      const t1 = performance.now()
      const { decoded } = await db(() => reader.decode({ toBlock: range.to, logs }))
      const t2 = performance.now()
      const byShard = new Map<number, (RoutedSwap & { amountUsd: null })[]>()
      for (const s of decoded.swaps) {
        const { account, shard } = swapOwner(s, shards, accounts)
        let list = byShard.get(shard)
        if (!list) byShard.set(shard, (list = []))
        list.push({ ...s, account, amountUsd: null })
      }
      if (decoded.rejected.length > 0) {
        await db(() => keepRejected(pool, chain.id, decoded.rejected))
        for (const r of decoded.rejected) log.error({ err: r.error.message }, 'undecodable log kept in rejected_logs')
      }
      await db(() =>
        withTransaction(pool, async (c) => {
          // Statements of at most WRITE_CHUNK rows: the database parses each one whole.
          for (const [shard, swaps] of byShard)
            for (let i = 0; i < swaps.length; i += WRITE_CHUNK) await insertSwapsAndTrades(c, shard, { chainId: chain.id, swaps: swaps.slice(i, i + WRITE_CHUNK) }, 'none')
          for (let i = 0; i < decoded.prices.length; i += WRITE_CHUNK) await insertPrices(c, { chainId: chain.id, prices: decoded.prices.slice(i, i + WRITE_CHUNK) })
          await c.query(
            `INSERT INTO backfill_ranges (chain_id, dexes, from_block, to_block, swaps, prices) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (chain_id, dexes, from_block) DO UPDATE SET to_block = GREATEST(backfill_ranges.to_block, EXCLUDED.to_block),
               swaps = EXCLUDED.swaps, prices = EXCLUDED.prices, done_at = now()`,
            [chain.id, dexKey, range.from.toString(), range.to.toString(), decoded.swaps.length, decoded.prices.length],
          )
        }),
      )
      log.debug(
        { from: range.from.toString(), to: range.to.toString(), logs: logs.length, fetchMs: Math.round(t1 - t0), decodeMs: Math.round(t2 - t1), writeMs: Math.round(performance.now() - t2) },
        'backfill range written',
      )
      planner.observe(range, logs.length, split)
      const blocks = Number(range.to - range.from + 1n)
      ranges++
      prices += decoded.prices.length
      rejected += decoded.rejected.length
      progress.blocksDone += blocks
      progress.blocksRead += blocks
      progress.swaps += decoded.swaps.length
      progress.elapsedMs = performance.now() - started
      progress.rangeSize = planner.rangeSize
      progress.retries = retries
      progress.splits = splits
      opts.onProgress?.({ ...progress })
    }

    // `concurrency` readers take ranges from the planner until it has none left (or the run is
    // stopped); a range that fails for good stops the run, the others finish their range first.
    let failure: unknown
    const readers = Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, async () => {
      for (;;) {
        if (signal?.aborted || failure !== undefined) return
        const range = planner.next()
        if (!range) return
        try {
          await retry(() => readRange(range), retryOpts(`blocks ${range.from}-${range.to}`))
        } catch (err) {
          failure ??= err
          return
        }
      }
    })
    await Promise.all(readers)
    if (failure !== undefined && !signal?.aborted) throw failure
  }

  // The final check: every block of the span is in a range some run wrote.
  const gaps = uncovered(want, await retry(coveredSpans, retryOpts('checking coverage')))
  const interrupted = signal?.aborted === true && gaps.length > 0
  progress.elapsedMs = performance.now() - started
  progress.retries = retries
  progress.splits = splits
  return { ...progress, fromBlock: want.from, toBlock: want.to, prices, rejected, ranges, skippedBlocks, gaps, interrupted }
}
