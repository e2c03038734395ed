import type pg from 'pg'
import { BaseError as ViemError, type Address, type Hex } from 'viem'
import type { Common } from '../common.ts'
import type { ChainConfig } from '../config/schema.ts'
import type { RawLog } from '../domain/log.ts'
import { ConfigError, DecodeError, errorLine } from '../errors.ts'
import type { BatchPublisher } from '../queue/publisher.ts'
import { onDatabase } from '../db/pool.ts'
import { describeRpcError, isRetryableRpcOrTransient } from '../chain/call-errors.ts'
import { retry, sleep } from '../retry.ts'
import { createChainClient, createLogsClient } from '../chain/create-chain-client.ts'
import { watchNewHeads } from '../chain/new-heads.ts'
import { watchedTopics } from './decode-range.ts'
import { chainDexes, discoverKnownPools } from './pool-discovery.ts'
import { createDexRangeReader, keepRejected } from './read-range.ts'
import { ANSWER_UPDATED_TOPIC } from '../../indexers/chainlink/abi.ts'
import { decodeAnswerUpdated, type ChainlinkFeed } from '../../indexers/chainlink/feed.ts'
import type { NormalizedSwap, PriceObservation } from '../domain/types.ts'
import { fetchLogs } from './fetch-logs.ts'
import { createBalanceReader, type BalanceReader } from './balance-reader.ts'
import { loadPoolRegistry } from './pool-registry.ts'
import { createTokenCache, detectFeeOnTransfer } from './token-cache.ts'
import { decodeWalletTransfers, walletTopicFilters } from './wallet-flows.ts'
import { createAccountFollower } from './account-follower.ts'
import { resolveStartBlock } from './start-block.ts'
import { assertSameHistory, findFork, publishedHash, recordHash, recordReorg, seedCheckpoints, shardsBehind, trackedPairs } from './published-ranges.ts'

export type IndexerOptions = {
  common: Common
  chain: ChainConfig
  pool: pg.Pool
  publisher: BatchPublisher
  /** Stop following once this block is processed (backfill-style runs, tests). Default: follow forever. */
  untilBlock?: bigint
  /** Aborts the start-up (a signal while the RPC does not answer yet): createIndexer then rejects. */
  signal?: AbortSignal
  /**
   * Told of each failure that is being retried (its line, as logged: method, status, masked URL),
   * and null once a range is published again: how /ready says why a chain is not following.
   */
  onProblem?: (problem: string | null) => void
}

export type Indexer = {
  chainId: number
  /** Last block published. */
  cursor(): bigint
  /** Resolves when the loop ends (closed, or untilBlock reached); rejects on a fatal error. */
  done: Promise<void>
  close(): Promise<void>
}

/**
 * Follows one chain: for each range of confirmed blocks, read the logs of every configured DEX,
 * discover pools, decode swaps and prices, and publish one batch per shard. The cursor only moves
 * after a range is published; any failure retries the same range (never skips a block).
 */
export async function createIndexer(opts: IndexerOptions): Promise<Indexer> {
  const { common, chain, pool, publisher } = opts
  const log = common.log.child({ chain: chain.name, chainId: chain.id })
  const client = createChainClient(chain, common)
  // eth_getLogs on a client of its own, unbatched: with blocks dense in swaps, a range's logs answer
  // rode in one HTTP batch with its getBlock, the batch passed viem's response cap, and the range
  // was retried as it was, forever. Alone, a logs answer that is too large is split (fetchLogs).
  const logsClient = createLogsClient(chain, common)
  const controller = new AbortController()
  const signal = controller.signal
  opts.signal?.addEventListener('abort', () => controller.abort(), { once: true })
  if (opts.signal?.aborted) controller.abort()
  const retryOpts = {
    signal,
    // RPC failures, unreachable databases and Redis are retried; a dexrisk fatal error, or a bug
    // (TypeError …), stops the indexer instead of looping on it forever. An RPC answer no retry
    // changes (a refused key, a missing method) stops the start; once the chain is followed, the
    // same answer may be a provider's passing fault (a quota, a CDN, a deploy), and is retried.
    retryable: (err: unknown) => isRetryableRpcOrTransient(err) || (following && err instanceof ViemError),
    aborted: () => signal.aborted,
    onRetry: (err: unknown, attempt: number, delay: number) => {
      log.warn({ err: summary(err), attempt, delay }, 'indexer step failed, retrying')
      opts.onProblem?.(summary(err))
    },
  }
  /** Retry options for one block range: the warning names the range that is read again. */
  const rangeRetry = (from: bigint, to: bigint) => ({
    ...retryOpts,
    onRetry: (err: unknown, attempt: number, delay: number) => {
      log.warn({ from: from.toString(), to: to.toString(), err: summary(err), attempt, delay }, 'processing a block range failed, retrying the same range')
      opts.onProblem?.(`blocks ${from}-${to}: ${summary(err)}`)
    },
  })

  const onSplit = (from: bigint, to: bigint, err: unknown): void =>
    log.warn({ from: from.toString(), to: to.toString(), err: summary(err) }, 'provider refused the block range as too large; reading it in halves')

  /** Set once the start is done: from then on every RPC failure is retried. */
  let following = false
  const rpcChainId = await retry(() => client.getChainId(), retryOpts)
  if (rpcChainId !== chain.id)
    throw new ConfigError(`RPC answers chain id ${rpcChainId}, config says ${chain.id}`, { context: { field: `chains.${chain.name}.id` } })

  const { factories, singletons } = chainDexes(chain)
  const startBlock = await retry(() => resolveStartBlock({ pool, client, chain, log }), retryOpts)
  const shards = common.config.shards
  let cursor = await retry(() => seedCheckpoints(pool, chain.id, shards, startBlock - 1n), retryOpts)
  /** Hash of the cursor block as published (null: not known, e.g. the block before the start). */
  let cursorHash = await retry(() => publishedHash(pool, chain.id, cursor), retryOpts)
  if (cursor >= startBlock) await retry(() => assertSameHistory(client, pool, chain, cursor, cursorHash, log), retryOpts)
  /** After a reorg: every (wallet, token) pair the shards track, read again at the fork point. */
  let reread: Map<Address, Set<Address>> | null = null
  /** Publication generation (see RangeOutput.generation): new at start and at every republication. */
  let generation = Date.now()
  const registry = await retry(() => loadPoolRegistry(pool, chain.id), retryOpts)
  const tokens = await retry(() => createTokenCache({ pool, client, chainId: chain.id, log }), retryOpts)
  const dexRange = createDexRangeReader({ client, chainId: chain.id, registry, factories, singletons, tokens })
  // Pools created before the resume point: found once (and resumably) before following.
  await retry(() => discoverKnownPools({ pool, client: logsClient, chain, registry, dexes: { factories, singletons }, upTo: cursor, onSplit, signal }), retryOpts)
  const feeds = new Map<Address, ChainlinkFeed>(
    chain.chainlinkFeeds.map((f) => [f.aggregator, { chainId: chain.id, aggregator: f.aggregator, token: f.token, feedDecimals: f.decimals }]),
  )
  const accounts = await retry(() => createAccountFollower({ pool, chainId: chain.id, named: common.config.accounts !== 'auto', log }), retryOpts)
  const balances: BalanceReader | null = accounts.named
    ? createBalanceReader({ client, chainId: chain.id, wallets: accounts.wallets(), openingTokens: openingTokens(chain), log })
    : null
  log.info({ from: (cursor + 1n).toString(), pools: registry.pools.size }, 'indexer started')

  // Metrics: updated once per head read and once per published range, never per log or swap.
  const metrics = common.metrics.indexer
  const labels = { chain: chain.name }
  for (const d of chain.dexes) metrics.swaps.inc({ chain: chain.name, dex: d.name ?? d.family }, 0)
  metrics.batchesPublished.inc(labels, 0)
  /** Chain head at the last read, with its block time (unix seconds). */
  let head: { number: bigint; time: number } | undefined
  /** Block time of the cursor (the last published block); undefined until read or published. */
  let publishedTime: number | undefined
  const observeLag = (): void => {
    metrics.publishedBlock.set(labels, Number(cursor))
    if (!head) return
    metrics.headBlock.set(labels, Number(head.number))
    metrics.lagBlocks.set(labels, Number(head.number - cursor))
    if (publishedTime !== undefined) metrics.lagSeconds.set(labels, head.time - publishedTime)
  }

  const db = <T>(step: () => Promise<T>): Promise<T> => onDatabase(pool, step)

  /** Reads, decodes and publishes one range; returns the block time of `toBlock`. */
  async function processRange(fromBlock: bigint, toBlock: bigint): Promise<number> {
    const [first, logs, walletLogs, feedLogs] = await Promise.all([
      client.getBlock({ blockNumber: fromBlock }),
      fetchLogs(logsClient, { fromBlock, toBlock, topics: WATCHED_TOPICS, onSplit }),
      accounts.wallets().length === 0 ? Promise.resolve([]) : fetchWalletLogs(fromBlock, toBlock),
      feeds.size === 0 ? Promise.resolve([]) : fetchLogs(logsClient, { fromBlock, toBlock, topics: [ANSWER_UPDATED_TOPIC], address: [...feeds.keys()], onSplit }),
    ])
    // The block after the cursor must build on the block published as the cursor: else the chain
    // reorganised below the confirmation window, and what was published after the fork is orphaned.
    if (cursorHash !== null && fromBlock === cursor + 1n && first.parentHash !== cursorHash)
      throw new ReorgDetected(cursor, cursorHash, first.parentHash)
    const tokenSet = new Set<Address>()
    for (const l of walletLogs) tokenSet.add(l.address)
    const { decoded, blocks, poolLogs } = await db(() => dexRange.decode({ toBlock, logs, otherLogs: [...walletLogs, ...feedLogs], otherTokens: tokenSet }))
    // Fee-on-transfer tokens show in a transaction's logs (a fee leg next to a transfer into a
    // pool, or a pair credited less than it was sent): flagged once, with a warning.
    const feeTaking = detectFeeOnTransfer([...poolLogs, ...walletLogs], (a) => registry.pools.get(a))
    if (feeTaking.length > 0) await db(() => tokens.markFeeOnTransfer(feeTaking.map((e) => e.token), toBlock))
    const flows = decodeWalletTransfers(walletLogs, { has: (w) => accounts.watches(w) }, {
      chainId: chain.id,
      blockTime: (n) => blocks.time.get(n),
      decimals: (a) => tokens.get(a)?.decimals ?? null,
      wrappedNative: chain.wrappedNative,
    })
    const oracle = decodeFeedLogs(feedLogs, (n) => blocks.time.get(n))
    // One (block, log index) ordered stream of price observations per chain (docs/decisions.md 3).
    if (oracle.prices.length > 0)
      decoded.prices = [...decoded.prices, ...oracle.prices].sort((a, b) => (a.blockNumber !== b.blockNumber ? (a.blockNumber < b.blockNumber ? -1 : 1) : a.logIndex - b.logIndex))
    const rejected = [...decoded.rejected, ...flows.rejected, ...oracle.rejected]
    if (rejected.length > 0) await db(() => keepRejected(pool, chain.id, rejected))
    for (const r of rejected) log.error({ err: r.error.message }, 'undecodable log kept in rejected_logs')
    let readings: Awaited<ReturnType<BalanceReader['read']>> = []
    if (balances !== null) {
      const touched = new Map<Address, Set<Address>>()
      for (const t of flows.transfers) addPair(touched, t.wallet, t.token)
      if (reread) for (const [wallet, tokens] of reread) for (const token of tokens) if (accounts.watches(wallet)) addPair(touched, wallet, token)
      // Opening balances of a wallet with the first range this process reads it in, and with any
      // range read again from that far back (batches lost with Redis are published again from a
      // checkpoint): at the start block they are the desk's holdings before indexing; after a
      // restart, or when an account gains a wallet, they also cover wallets added since. A wallet
      // the workers already follow reads what they hold: no change.
      const opening = accounts.openingWallets(fromBlock)
      for (const [wallet, carried] of opening) for (const token of carried) addPair(touched, wallet, token)
      if (opening.size > 0) await db(() => tokens.ensure(openingTokens(chain), toBlock))
      readings = await balances.read({ fromBlock, toBlock }, touched, new Set(opening.keys()), (a) => tokens.get(a)?.decimals ?? null)
    }
    const detachments = accounts.detachments()
    await publisher.publish({
      chainId: chain.id,
      fromBlock,
      toBlock,
      toBlockHash: blocks.toBlockHash,
      toBlockTime: blocks.toBlockTime,
      swaps: decoded.swaps,
      prices: decoded.prices,
      transfers: flows.transfers,
      readings,
      detachments,
      generation,
    }, accounts.resolver())
    if (detachments.length > 0) log.info({ block: fromBlock.toString(), wallets: detachments }, 'wallets taken out of their accounts: detached from this block')
    accounts.published(toBlock)
    metrics.batchesPublished.inc(labels, shards)
    countSwaps(decoded.swaps)
    if (blocks.toBlockHash !== null) await db(() => recordHash(pool, chain.id, toBlock, blocks.toBlockHash!))
    cursorHash = blocks.toBlockHash
    reread = null
    log.debug({ from: fromBlock.toString(), to: toBlock.toString(), swaps: decoded.swaps.length }, 'range published')
    return blocks.toBlockTime
  }

  /** `dexrisk_swaps_total`: one increment per dex per published range. */
  function countSwaps(swaps: readonly NormalizedSwap[]): void {
    if (swaps.length === 0) return
    const byDex = new Map<string, number>()
    for (const s of swaps) byDex.set(s.dex.name, (byDex.get(s.dex.name) ?? 0) + 1)
    for (const [dex, n] of byDex) metrics.swaps.inc({ chain: chain.name, dex }, n)
  }

  /** Chainlink answers of the configured feeds: price observations quoted in USD. */
  function decodeFeedLogs(feedLogs: RawLog[], blockTime: (n: bigint) => number | undefined): { prices: PriceObservation[]; rejected: { log: RawLog; error: DecodeError }[] } {
    const out: ReturnType<typeof decodeFeedLogs> = { prices: [], rejected: [] }
    for (const l of feedLogs) {
      const feed = feeds.get(l.address)
      const time = blockTime(l.blockNumber)
      if (!feed || time === undefined) continue
      try {
        out.prices.push(decodeAnswerUpdated(l, feed, time))
      } catch (err) {
        if (err instanceof DecodeError) out.rejected.push({ log: l, error: err })
        else throw err
      }
    }
    return out
  }

  /** Logged balance changes of watched wallets: Transfers from and to them, WETH wraps and unwraps. */
  async function fetchWalletLogs(fromBlock: bigint, toBlock: bigint): Promise<RawLog[]> {
    const parts = await Promise.all(walletTopicFilters(accounts.wallets()).map((topics) => fetchLogs(logsClient, { fromBlock, toBlock, topics, onSplit })))
    return parts.flat()
  }

  /**
   * A reorg below the confirmation window (the chain no longer holds the cursor block we
   * published): finds the fork point (the latest published range end still on the chain), records
   * the reorg (chain_reorgs: the operational alert; an error log; dexrisk_reorgs_total), orders
   * every shard to roll the chain back to it, and publishes again from there, the first range with
   * every tracked wallet balance read at the fork point.
   */
  async function rollBack(seen: ReorgDetected): Promise<void> {
    const fork = await db(() => findFork(pool, client, chain.id, cursor))
    if (!fork.found)
      throw new ConfigError(`reorg deeper than every block hash kept (${fork.kept} range ends): the published history cannot be matched to the chain`, {
        context: { chainId: chain.id, block: seen.block },
      })
    const depth = cursor - fork.block
    const canonical = (await client.getBlock({ blockNumber: seen.block })).hash
    await db(() => recordReorg(pool, { chainId: chain.id, fork: fork.block, publishedTo: cursor, orphaned: seen.hash, canonical, confirmations: chain.confirmations }))
    log.error(
      { fork: fork.block.toString(), publishedTo: cursor.toString(), depth: Number(depth), orphaned: seen.hash, canonical, confirmations: chain.confirmations },
      'reorg deeper than the confirmation window: published blocks after the fork point are rolled back and read again',
    )
    metrics.reorgs.inc(labels)
    metrics.reorgDepth.set(labels, Number(depth))
    generation = Date.now()
    await publisher.rewind(chain.id, fork.block, generation)
    reread = await db(() => trackedPairs(pool, chain.id))
    balances?.forget()
    moveCursorBack(fork.block, fork.hash)
  }

  /**
   * Publishes again from `block` (a fork point, or a checkpoint behind lost batches): the cursor and
   * the hash the next range must build on move together (null: not kept, that range goes unchecked).
   */
  function moveCursorBack(block: bigint, hash: Hex | null): void {
    cursor = block
    cursorHash = hash
    accounts.movedBack()
    publishedTime = undefined
    observeLag()
  }

  /**
   * Published batches live only in Redis until a shard applies them, so a Redis that restarts
   * without persistence (or is flushed) loses them: the shards' checkpoints stay behind the cursor,
   * and the batches published after the loss wait in their queues as gaps (risk-worker sets them
   * aside). Whenever it is idle (at most every LOST_BATCH_CHECK_MS), the indexer looks for a shard
   * whose queue holds nothing it could apply while its checkpoint for this chain is behind the
   * cursor, and publishes again from that checkpoint. The queue is read before the checkpoint: a
   * shard with nothing waiting or active has committed every batch it will ever apply, so its
   * checkpoint then shows exactly what was lost. A needless rewind (a race with a new batch) only
   * publishes ranges that the checkpoint skips.
   */
  let lastLossCheck = 0
  async function recoverLostBatches(): Promise<void> {
    if (Date.now() - lastLossCheck < LOST_BATCH_CHECK_MS) return
    lastLossCheck = Date.now()
    try {
      const behind = await shardsBehind(publisher, pool, chain.id, shards, cursor)
      if (behind.length === 0) return
      const from = behind.reduce((m, c) => (c.checkpoint < m ? c.checkpoint : m), cursor)
      log.warn(
        { from: (from + 1n).toString(), to: cursor.toString(), shards: behind.map((c) => c.shard) },
        'published batches were lost from the queue (Redis restarted or flushed?): blocks published again from the shard checkpoint',
      )
      moveCursorBack(from, await db(() => publishedHash(pool, chain.id, from)))
      generation = Date.now()
    } catch (err) {
      log.warn({ err: summary(err) }, 'checking the queues for lost batches failed; checking again when next idle')
    }
  }

  // New heads pushed by the RPC where the chain has a wsUrl: the loop wakes at once; the poll
  // interval stays the fallback (and the only way without one).
  let wake: (() => void) | null = null
  /** A head was pushed since the loop last read the head: while it was busy, so the next wait is none. */
  let headPushed = false
  const heads = chain.wsUrl
    ? watchNewHeads({
        url: chain.wsUrl,
        log,
        onHead: () => {
          headPushed = true
          wake?.()
        },
      })
    : null
  /** Waits for the poll interval, or less: until the next new head (or one pushed while the loop was busy), or a stop. */
  async function nextHead(): Promise<void> {
    if (headPushed) return
    const woken = new AbortController()
    wake = () => woken.abort()
    await sleep(chain.pollIntervalMs, AbortSignal.any([signal, woken.signal]))
    wake = null
  }

  const loop = async (): Promise<void> => {
    while (!signal.aborted) {
      // The head block itself (not eth_blockNumber): its time gives dexrisk_indexer_lag_seconds.
      // A head pushed from here on is one this read may not see: it wakes the next wait.
      headPushed = false
      const latest = await retry(() => client.getBlock({ blockTag: 'latest' }), retryOpts)
      head = { number: latest.number, time: Number(latest.timestamp) }
      opts.onProblem?.(null)
      if (publishedTime === undefined && cursor >= 0n && cursor <= head.number)
        publishedTime = cursor === head.number ? head.time : Number((await retry(() => client.getBlock({ blockNumber: cursor }), retryOpts)).timestamp)
      observeLag()
      let safe = head.number - BigInt(chain.confirmations)
      if (opts.untilBlock !== undefined && safe > opts.untilBlock) safe = opts.untilBlock
      while (cursor < safe && !signal.aborted) {
        if (await retry(() => db(() => accounts.beforeRange()), retryOpts)) balances?.setWallets(accounts.wallets())
        const from = cursor + 1n
        const to = min(safe, cursor + BigInt(chain.maxBlockRange))
        let time: number
        try {
          time = await retry(() => processRange(from, to), rangeRetry(from, to))
        } catch (err) {
          if (!(err instanceof ReorgDetected)) throw err
          await retry(() => rollBack(err), retryOpts)
          break
        }
        cursor = to
        publishedTime = time
        observeLag()
        opts.onProblem?.(null)
      }
      if (opts.untilBlock !== undefined && cursor >= opts.untilBlock) return
      await recoverLostBatches()
      await nextHead()
    }
  }
  following = true
  const done = loop().finally(() => heads?.close()).catch((err: unknown) => {
    if (signal.aborted) return
    log.fatal({ err: summary(err) }, 'indexer stopped')
    throw err
  })
  done.catch(() => {})

  return {
    chainId: chain.id,
    cursor: () => cursor,
    done,
    async close() {
      controller.abort()
      await done.catch(() => {})
    },
  }
}

/** The chain no longer builds on the block published as the cursor. */
class ReorgDetected extends Error {
  constructor(
    readonly block: bigint,
    readonly hash: Hex,
    readonly parentHash: Hex,
  ) {
    super(`block ${block} was published with hash ${hash}; the chain's next block builds on ${parentHash}`)
  }
}

/** Tokens whose opening balances are read at the start block: every token the chain's config names. */
function openingTokens(chain: ChainConfig): Address[] {
  const set = new Set<Address>([...chain.stablecoins, ...chain.pivots, ...(Object.keys(chain.assets) as Address[])].map((a) => a.toLowerCase() as Address))
  if (chain.wrappedNative) set.add(chain.wrappedNative)
  return [...set].sort()
}

/** Adds `token` to `wallet`'s set. */
function addPair(pairs: Map<Address, Set<Address>>, wallet: Address, token: Address): void {
  let set = pairs.get(wallet)
  if (!set) pairs.set(wallet, (set = new Set()))
  set.add(token)
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

/** topic0s asked of eth_getLogs for every range: fixed by the families compiled in. */
const WATCHED_TOPICS = watchedTopics()

/** How often, at most, an idle indexer checks the shards for batches lost with the queue. */
const LOST_BATCH_CHECK_MS = 2_000

/** First line of an error, with the HTTP status its cause chain carries (viem puts it on a later line). */
function summary(err: unknown): string {
  return describeRpcError(err, errorLine(err))
}
